using System.Runtime.CompilerServices;

namespace HepBnn.Devices;

/// <summary>
/// The claim counter of one slice of a parallel job, shared by <see cref="CpuWorkerPool"/>'s sliced For and the CPU
/// segments' regions: a long holding tag × 2³² + the next item, where the tag numbers the job (or run), so a counter left
/// over from an earlier job is recognised without being reset. Whoever reaches the slice first in a job arms it at the
/// slice's first item; every participant then takes items with one atomic increment until the slice's end.
/// </summary>
internal static class SliceClaims
{
    const long TagMask = ~0xFFFFFFFFL;

    /// <summary>The tag of job or run <paramref name="number"/> (its low 32 bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Tag(long number) => (number & 0xFFFFFFFF) << 32;

    /// <summary>First item of slice <paramref name="q"/> of <paramref name="slices"/> over <paramref name="count"/> items.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int First(int count, int q, int slices) => (int)((long)count * q / slices);

    /// <summary>End (exclusive) of slice <paramref name="q"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int End(int count, int q, int slices) => (int)((long)count * (q + 1) / slices);

    /// <summary>Arms <paramref name="claim"/> for <paramref name="tag"/> at <paramref name="first"/> unless another
    /// participant already did in this job.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Arm(ref long claim, long tag, int first)
    {
        long seen = Volatile.Read(ref claim);
        if ((seen & TagMask) != tag) Interlocked.CompareExchange(ref claim, tag | (uint)first, seen);
    }

    /// <summary>Takes the next item of an armed slice (at or past its end when none is left).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Take(ref long claim) => (int)((Interlocked.Increment(ref claim) - 1) & 0xFFFFFFFF);

    /// <summary>Whether the slice's counter has reached <paramref name="end"/> in job <paramref name="tag"/> (then a thief
    /// only reads it, without an atomic on its owner's line).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Exhausted(ref long claim, long tag, int end)
    {
        long seen = Volatile.Read(ref claim);
        return (seen & TagMask) == tag && (seen & 0xFFFFFFFF) >= end;
    }
}
