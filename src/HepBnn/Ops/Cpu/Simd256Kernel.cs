using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>AVX2, vectorised over output channels like <see cref="Simd512Kernel"/> with half the width: 4 channels per
/// Vector256 (carry-save tree, nibble-LUT popcount, VPSADBW), 16 int16 channel sums per VPMADDUBSW in the image layer.</summary>
public struct Simd256Kernel : ICpuKernel
{
    public static int BinaryLanes => 4;
    public static int ImageLanes => 16;
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

    /// <summary>Two pixels: one after the other (this kernel shares nothing between them).</summary>
    public static ulong BinaryWord2(CpuBlockData d, ref ulong patchA, ref ulong patchB, int word, int clsA, int clsB, out ulong bitsB)
    {
        bitsB = BinaryWord(d, ref patchB, word, clsB);
        return BinaryWord(d, ref patchA, word, clsA);
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
    public static ulong ImageWord(CpuBlockData d, ref byte patch, int word, int cls)
    {
        int groups = Math.Min(4, (d.Block.OutChannels - word * 64 + 15) >> 4), pairs = d.PatchLength / 2;
        ref ushort pixels = ref Unsafe.As<byte, ushort>(ref patch);
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ImageLaneWeights), (nint)word * 4 * pairs * 32);
        ref uint lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumLo), cls * d.PaddedK + word * 64);
        ref uint span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumSpan), cls * d.PaddedK + word * 64);
        ulong bits = 0;
        for (int g = 0; g < groups; g++)
        {
            ref sbyte wg = ref Unsafe.Add(ref w, (nint)g * pairs * 32);
            var (low, high) = GroupSums(ref pixels, ref wg, pairs);
            bits |= (Fire(low, ref lo, ref span, 2 * g) | Fire(high, ref lo, ref span, 2 * g + 1) << 8) << (16 * g);
        }
        return bits;
    }

    /// <summary>The 16 channel sums of one lane group (channels 0..7 in low, 8..15 in high): int16 sums of up to
    /// 64 pixel pairs stay within ±32640; then they are widened into the int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector256<int> Low, Vector256<int> High) GroupSums(ref ushort pixels, ref sbyte wg, int pairs)
    {
        Vector256<int> low = default, high = default;
        for (int t0 = 0; t0 < pairs; t0 += 64)
        {
            int t1 = Math.Min(pairs, t0 + 64);
            var acc = Vector256<short>.Zero;
            for (int t = t0; t < t1; t++)
                acc += Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.Add(ref pixels, t)).AsByte(), Vector256.LoadUnsafe(ref wg, (nuint)t * 32));
            low += Vector256.WidenLower(acc);
            high += Vector256.WidenUpper(acc);
        }
        return (low, high);
    }

    /// <summary>Two interior pixels: their patches composed on the stack, then two <see cref="ImageWord"/> calls.</summary>
    public static ulong ImageWord2Interior(CpuBlockData d, ref byte from, int step, int word, int clsA, int clsB, out ulong bitsB) =>
        CpuBlockKernels.ImageWordTwiceInterior<Simd256Kernel>(d, ref from, step, word, clsA, clsB, out bitsB);

    /// <summary>Two pixels as two <see cref="ImageWord"/> calls (this kernel shares nothing between them).</summary>
    public static ulong ImageWord2(CpuBlockData d, ref byte patchA, ref byte patchB, int word, int clsA, int clsB, out ulong bitsB) =>
        CpuBlockKernels.ImageWordTwice<Simd256Kernel>(d, ref patchA, ref patchB, word, clsA, clsB, out bitsB);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ImageSums(CpuBlockData d, ref byte patch, int word, int set, Span<int> sums)
    {
        int groups = Math.Min(4, (d.Block.OutChannels - word * 64 + 15) >> 4), pairs = d.ChannelPatchLength / 2;
        ref ushort pixels = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref patch, set * d.ChannelPatchLength));
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ChannelImageWeights), (nint)set * d.ImageSetLength + (nint)word * 4 * pairs * 32);
        for (int g = 0; g < groups; g++)
        {
            var (low, high) = GroupSums(ref pixels, ref Unsafe.Add(ref w, (nint)g * pairs * 32), pairs);
            low.CopyTo(sums[(g * 16)..]);
            high.CopyTo(sums[(g * 16 + 8)..]);
        }
    }

    public static ulong ImageChannelWord(CpuBlockData d, ref byte patch, int word, int cls) =>
        CpuBlockKernels.ChannelSumsWord<Simd256Kernel>(d, ref patch, word, cls);

    /// <summary>Threshold bits of 8 channel sums (channels 8·i … of the word).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Fire(Vector256<int> sums, ref uint lo, ref uint span, int i) =>
        Vector256.LessThanOrEqual(sums.AsUInt32() - Vector256.LoadUnsafe(ref lo, (nuint)i * 8), Vector256.LoadUnsafe(ref span, (nuint)i * 8))
            .ExtractMostSignificantBits();
}
