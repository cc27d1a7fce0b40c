using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>AVX2, vectorised over output channels like <see cref="Simd512Kernel"/> with half the width: 4 channels per
/// Vector256 (carry-save tree, nibble-LUT popcount, VPSADBW), 8 int32 channel sums per VPMADDWD in the image layer.</summary>
public struct Simd256Kernel : ICpuKernel
{
    public static int BinaryLanes => 4;
    public static int ImageLanes => 8;
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>Per-byte popcount (0..8) by nibble lookup.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<byte> PopBytes(Vector256<ulong> v)
    {
        var lut = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var low = Vector256.Create((byte)0x0F);
        var x = v.AsByte();
        return Avx2.Shuffle(lut, x & low) + Avx2.Shuffle(lut, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
    }

    /// <summary>Carry-save adder, bit by bit: sum and carry (majority) of three vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ulong> Sum3(Vector256<ulong> a, Vector256<ulong> b, Vector256<ulong> c) => a ^ b ^ c;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ulong> Carry3(Vector256<ulong> a, Vector256<ulong> b, Vector256<ulong> c) => (a & b) | (c & (a ^ b));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ulong> Xor(ref ulong patch, ref ulong w, int j) =>
        Vector256.Create(Unsafe.Add(ref patch, j)) ^ Vector256.LoadUnsafe(ref w, (nuint)j * 4);

    /// <summary>P for the 4 channels of one lane group (weights [len][4]): Harley–Seal carry-save tree over blocks of 8
    /// patch words (one popcount per block), weighted partial counts summed per lane by VPSADBW.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ulong> GroupCounts(ref ulong patch, ref ulong w, int len)
    {
        Vector256<ulong> ones = default, twos = default, fours = default, total = default;
        var eights = Vector256<byte>.Zero; // byte counts of the eights, flushed before they can overflow
        int j = 0, blocks = 0;
        for (; j + 8 <= len; j += 8)
        {
            var x0 = Xor(ref patch, ref w, j);
            var x1 = Xor(ref patch, ref w, j + 1);
            var twosA = Carry3(ones, x0, x1); ones = Sum3(ones, x0, x1);
            x0 = Xor(ref patch, ref w, j + 2);
            x1 = Xor(ref patch, ref w, j + 3);
            var twosB = Carry3(ones, x0, x1); ones = Sum3(ones, x0, x1);
            var foursA = Carry3(twos, twosA, twosB); twos = Sum3(twos, twosA, twosB);
            x0 = Xor(ref patch, ref w, j + 4);
            x1 = Xor(ref patch, ref w, j + 5);
            twosA = Carry3(ones, x0, x1); ones = Sum3(ones, x0, x1);
            x0 = Xor(ref patch, ref w, j + 6);
            x1 = Xor(ref patch, ref w, j + 7);
            twosB = Carry3(ones, x0, x1); ones = Sum3(ones, x0, x1);
            var foursB = Carry3(twos, twosA, twosB); twos = Sum3(twos, twosA, twosB);
            eights += PopBytes(Carry3(fours, foursA, foursB)); fours = Sum3(fours, foursA, foursB);
            if (++blocks == 31)
            {
                total += Avx2.SumAbsoluteDifferences(eights, Vector256<byte>.Zero).AsUInt64() << 3;
                eights = Vector256<byte>.Zero;
                blocks = 0;
            }
        }
        // ones + 2·twos + 4·fours ≤ 56 per byte, plus ≤ 7 leftover words ≤ 112: no byte overflow.
        var rest = PopBytes(ones) + Vector256.ShiftLeft(PopBytes(twos).AsUInt16(), 1).AsByte()
                   + Vector256.ShiftLeft(PopBytes(fours).AsUInt16(), 2).AsByte();
        for (; j < len; j++) rest += PopBytes(Xor(ref patch, ref w, j));
        return total + (Avx2.SumAbsoluteDifferences(eights, Vector256<byte>.Zero).AsUInt64() << 3)
               + Avx2.SumAbsoluteDifferences(rest, Vector256<byte>.Zero).AsUInt64();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong BinaryWord(CpuBlockData d, ref ulong patch, int word, int cls)
    {
        int g0 = word * 16, groups = Math.Min(16, (d.Block.OutChannels - word * 64 + 3) >> 2), len = d.PatchLength;
        ref ulong w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.LaneWeights), (nint)g0 * len * 4);
        ref ulong lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Lo), cls * d.PaddedK + word * 64);
        ref ulong span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Span), cls * d.PaddedK + word * 64);
        ulong bits = 0;
        for (int g = 0; g < groups; g++)
        {
            var p = GroupCounts(ref patch, ref Unsafe.Add(ref w, (nint)g * len * 4), len);
            var fire = Vector256.LessThanOrEqual(p - Vector256.LoadUnsafe(ref lo, (nuint)g * 4), Vector256.LoadUnsafe(ref span, (nuint)g * 4));
            bits |= (ulong)fire.ExtractMostSignificantBits() << (4 * g);
        }
        return bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BinaryCounts(CpuBlockData d, ref ulong patch, int word, Span<ulong> counts)
    {
        int g0 = word * 16, groups = Math.Min(16, (d.Block.OutChannels - word * 64 + 3) >> 2), len = d.PatchLength;
        ref ulong w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.LaneWeights), (nint)g0 * len * 4);
        for (int g = 0; g < groups; g++)
            GroupCounts(ref patch, ref Unsafe.Add(ref w, (nint)g * len * 4), len).CopyTo(counts[(g * 4)..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong ImageWord(CpuBlockData d, ref short patch, int word, int cls)
    {
        int groups = Math.Min(8, (d.Block.OutChannels - word * 64 + 7) >> 3), pairs = d.PatchLength / 2;
        ref int pixels = ref Unsafe.As<short, int>(ref patch);
        ref short w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ImageLaneWeights), (nint)word * 8 * pairs * 16);
        ref uint lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumLo), cls * d.PaddedK + word * 64);
        ref uint span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumSpan), cls * d.PaddedK + word * 64);
        ulong bits = 0;
        int g = 0;
        // Four groups at a time share each broadcast pixel pair and run as independent dependency chains.
        for (; g + 4 <= groups; g += 4)
        {
            ref short w0 = ref Unsafe.Add(ref w, (nint)g * pairs * 16);
            ref short w1 = ref Unsafe.Add(ref w0, (nint)pairs * 16);
            ref short w2 = ref Unsafe.Add(ref w1, (nint)pairs * 16);
            ref short w3 = ref Unsafe.Add(ref w2, (nint)pairs * 16);
            Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int t = 0; t < pairs; t++)
            {
                var x = Vector256.Create(Unsafe.Add(ref pixels, t)).AsInt16();
                a0 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref w0, (nuint)t * 16));
                a1 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref w1, (nuint)t * 16));
                a2 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref w2, (nuint)t * 16));
                a3 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref w3, (nuint)t * 16));
            }
            bits |= (Fire(a0, ref lo, ref span, g) | Fire(a1, ref lo, ref span, g + 1) << 8
                   | Fire(a2, ref lo, ref span, g + 2) << 16 | Fire(a3, ref lo, ref span, g + 3) << 24) << (8 * g);
        }
        for (; g < groups; g++)
        {
            ref short wg = ref Unsafe.Add(ref w, (nint)g * pairs * 16);
            var acc = Vector256<int>.Zero;
            for (int t = 0; t < pairs; t++)
                acc += Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.Add(ref pixels, t)).AsInt16(), Vector256.LoadUnsafe(ref wg, (nuint)t * 16));
            bits |= Fire(acc, ref lo, ref span, g) << (8 * g);
        }
        return bits;
    }

    /// <summary>Threshold bits of the 8 channel sums of group g.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Fire(Vector256<int> sums, ref uint lo, ref uint span, int g) =>
        Vector256.LessThanOrEqual(sums.AsUInt32() - Vector256.LoadUnsafe(ref lo, (nuint)g * 8), Vector256.LoadUnsafe(ref span, (nuint)g * 8))
            .ExtractMostSignificantBits();
}
