using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HepBnn.Devices;

/// <summary>
/// Arrays whose first element starts on a 64-byte boundary (a cache line, one 512-bit vector), on the pinned object
/// heap so that no garbage collection ever moves them off it.
/// <para>Why: the CPU kernels load weights and threshold tables as whole 512-bit (or 256-bit) vectors from the start of
/// these arrays. A plain .NET array starts wherever the allocator put it (8-byte granularity), so in 7 of 8 placements
/// every 64-byte load spans two cache lines, and each session's copy of a block's tables lands elsewhere: the same
/// kernel could time differently in the profile and in a plan. Measured: single-thread VGG3 b16 blocks on the 2-core
/// EPYC 2–3 % faster aligned (conv1 24.6 vs 25.0–25.4, conv2 14.7 vs 15.0–15.1 µs/img, same bits); on the Xeon host no
/// difference showed (VGG3 conv1 5.4–5.7 µs either way; the large per-session spreads seen there went away with dynamic PGO off,
/// see <see cref="CpuWorkerPool"/>), docs/results/cpu-xeon-cpu3. A compacting collection could also move a plain array
/// under a running session.</para>
/// <para>.NET has no aligned managed allocation; this allocates on the pinned heap until an array lands aligned, pushing
/// the next placement along with a pinned spacer (missed arrays and spacers are kept alive only during the search, so
/// their space is reused later; usually one try). Set-up time only; HEPBNN_ALIGN=0 turns it off (plain pinned arrays), for comparison.</para>
/// </summary>
public static class AlignedArrays
{
    public const int Alignment = 64;

    /// <summary>Whether arrays are aligned (HEPBNN_ALIGN, on by default).</summary>
    public static bool Enabled => EnvironmentSwitches.AlignArrays;

    /// <summary>A zeroed pinned array of <paramref name="length"/> elements, 64-byte aligned (best effort: arrays under ~128 bytes sit in the
    /// heap's free gaps and may stay unaligned after 48 tries; with
    /// <see cref="Enabled"/> off the array is returned as placed — correct, only slower).</summary>
    public static T[] Allocate<T>(int length) where T : unmanaged
    {
        if (length == 0) return [];
        if (!Enabled) return GC.AllocateArray<T>(length, pinned: true);
        // One search at a time: two threads' spacers and copies interleaved would defeat each other's guesses (sessions
        // are built in parallel, e.g. by a SessionPool or the tests).
        lock (Gate) return Search<T>(length);
    }

    static readonly object Gate = new();

    static T[] Search<T>(int length) where T : unmanaged
    {
        var first = GC.AllocateArray<T>(length, pinned: true);
        if (IsAligned(first)) return first;
        // The pinned heap places an array that fits no free gap right after the previous such one (its data 24 bytes —
        // object header, method table, length — after the previous one's end), so a spacer sized from where the missed
        // array landed puts the next one's data on a boundary. The spacer is as large as the array (the allocator's size
        // classes keep them together) or at least 1 KiB (a small array may sit in a free gap the spacer should not
        // take), and every third try has none (the next copy lands further along the same gap): where a guess fails
        // (a new heap region, a gap), the next try starts from where the last copy landed. Usually one try; at most 26
        // in 8,700 arrays of 128 B–320 KB with collections in between (the test's pattern, on the dev machine).
        var held = new List<object>(64) { first };
        var last = first;
        long bytes = ((long)length * Unsafe.SizeOf<T>() + 7) & ~7L;
        for (int attempt = 0; attempt < 48; attempt++)
        {
            if (attempt % 3 != 2)
            {
                long spacer = attempt % 3 == 0 ? bytes : Math.Max(1024, bytes);
                nuint spacerData = Address(last) + (nuint)((((long)last.Length * Unsafe.SizeOf<T>()) + 7) & ~7L) + 24;
                int gap = (int)((Alignment - (spacerData + (nuint)spacer + 24) % Alignment) % Alignment);
                held.Add(GC.AllocateArray<byte>((int)Math.Min(spacer + gap, Array.MaxLength), pinned: true));
            }
            var a = GC.AllocateArray<T>(length, pinned: true);
            if (IsAligned(a)) return a;
            held.Add(a);
            last = a;
        }
        return first;
    }

    /// <summary>An aligned pinned copy of <paramref name="source"/> (see <see cref="Allocate{T}"/>).</summary>
    public static T[] Copy<T>(T[] source) where T : unmanaged
    {
        var a = Allocate<T>(source.Length);
        source.AsSpan().CopyTo(a);
        return a;
    }

    public static bool IsAligned<T>(T[] array) where T : unmanaged => array.Length == 0 || Address(array) % Alignment == 0;

    static unsafe nuint Address<T>(T[] array) where T : unmanaged => (nuint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
}
