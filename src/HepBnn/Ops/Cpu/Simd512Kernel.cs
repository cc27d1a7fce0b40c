using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>AVX-512BW, vectorised over output channels: a Vector512 holds 8 channels' 64-bit lanes; each patch word is
/// broadcast and XORed with the 8 channels' weight words, a carry-save tree (VPTERNLOGQ) compresses 8 such vectors
/// into one that the nibble-LUT popcount (VPSHUFB) counts, and VPSADBW sums bytes per channel. No horizontal sums.
/// The image layer multiply-adds unsigned pixel pairs with ±1 weight pairs into 32 int16 channel sums (VPMADDUBSW).
/// (.NET 10 exposes no VPOPCNTDQ intrinsic; this is the widest popcount C# can emit.)</summary>
public struct Simd512Kernel : ICpuKernel
{
    public static int BinaryLanes => 8;
    public static int ImageLanes => 32;
    public static bool IsSupported => Avx512BW.IsSupported;

    static Vector512<byte> Lut
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    }

    /// <summary>Per-byte popcount (0..8) by nibble lookup.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> PopBytes(Vector512<ulong> v, Vector512<byte> lut)
    {
        var low = Vector512.Create((byte)0x0F);
        var x = v.AsByte();
        return Avx512BW.Shuffle(lut, x & low) + Avx512BW.Shuffle(lut, Avx512BW.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
    }

    /// <summary>Carry-save adder (VPTERNLOGQ): sum and carry (majority) of three vectors, bit by bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Sum3(Vector512<ulong> a, Vector512<ulong> b, Vector512<ulong> c) => Avx512F.TernaryLogic(a, b, c, 0x96);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Carry3(Vector512<ulong> a, Vector512<ulong> b, Vector512<ulong> c) => Avx512F.TernaryLogic(a, b, c, 0xE8);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Xor(ref ulong patch, ref ulong w, int j) =>
        Vector512.Create(Unsafe.Add(ref patch, j)) ^ Vector512.LoadUnsafe(ref w, (nuint)j * 8);

    /// <summary>P for the 8 channels of one lane group (weights [len][8]): a Harley–Seal carry-save tree over blocks of
    /// 8 patch words, so only one popcount per 8 words; the weighted partial counts are summed per lane by VPSADBW.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> GroupCounts(ref ulong patch, ref ulong w, int len)
    {
        var lut = Lut;
        Vector512<ulong> ones = default, twos = default, fours = default, total = default;
        var eights = Vector512<byte>.Zero; // byte counts of the eights, flushed before they can overflow
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
            eights += PopBytes(Carry3(fours, foursA, foursB), lut); fours = Sum3(fours, foursA, foursB);
            if (++blocks == 31)
            {
                total += Avx512BW.SumAbsoluteDifferences(eights, Vector512<byte>.Zero).AsUInt64() << 3;
                eights = Vector512<byte>.Zero;
                blocks = 0;
            }
        }
        // ones + 2·twos + 4·fours ≤ 56 per byte, plus ≤ 7 leftover words ≤ 112: no byte overflow.
        var rest = PopBytes(ones, lut) + Vector512.ShiftLeft(PopBytes(twos, lut).AsUInt16(), 1).AsByte()
                   + Vector512.ShiftLeft(PopBytes(fours, lut).AsUInt16(), 2).AsByte();
        for (; j < len; j++) rest += PopBytes(Xor(ref patch, ref w, j), lut);
        return total + (Avx512BW.SumAbsoluteDifferences(eights, Vector512<byte>.Zero).AsUInt64() << 3)
               + Avx512BW.SumAbsoluteDifferences(rest, Vector512<byte>.Zero).AsUInt64();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong BinaryWord(CpuBlockData d, ref ulong patch, int word, int cls)
    {
        int g0 = word * 8, groups = Math.Min(8, (d.Block.OutChannels - word * 64 + 7) >> 3), len = d.PatchLength;
        ref ulong w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.LaneWeights), (nint)g0 * len * 8);
        ref ulong lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Lo), cls * d.PaddedK + word * 64);
        ref ulong span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Span), cls * d.PaddedK + word * 64);
        ulong bits = 0;
        for (int g = 0; g < groups; g++)
        {
            var p = GroupCounts(ref patch, ref Unsafe.Add(ref w, (nint)g * len * 8), len);
            var fire = Vector512.LessThanOrEqual(p - Vector512.LoadUnsafe(ref lo, (nuint)g * 8), Vector512.LoadUnsafe(ref span, (nuint)g * 8));
            bits |= fire.ExtractMostSignificantBits() << (8 * g);
        }
        return bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BinaryCounts(CpuBlockData d, ref ulong patch, int word, Span<ulong> counts)
    {
        int g0 = word * 8, groups = Math.Min(8, (d.Block.OutChannels - word * 64 + 7) >> 3), len = d.PatchLength;
        ref ulong w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.LaneWeights), (nint)g0 * len * 8);
        for (int g = 0; g < groups; g++)
            GroupCounts(ref patch, ref Unsafe.Add(ref w, (nint)g * len * 8), len).CopyTo(counts[(g * 8)..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong ImageWord(CpuBlockData d, ref byte patch, int word, int cls)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), pairs = d.PatchLength / 2;
        ref ushort pixels = ref Unsafe.As<byte, ushort>(ref patch);
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ImageLaneWeights), (nint)word * 2 * pairs * 64);
        ref uint lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumLo), cls * d.PaddedK + word * 64);
        ref uint span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumSpan), cls * d.PaddedK + word * 64);
        ulong bits = 0;
        for (int g = 0; g < groups; g++)
        {
            ref sbyte wg = ref Unsafe.Add(ref w, (nint)g * pairs * 64);
            var (low, high) = GroupSums(ref pixels, ref wg, pairs);
            bits |= (Fire(low, ref lo, ref span, 2 * g) | Fire(high, ref lo, ref span, 2 * g + 1) << 16) << (32 * g);
        }
        return bits;
    }

    /// <summary>The 32 channel sums of one lane group (channels 0..15 in low, 16..31 in high): int16 sums of up to
    /// 64 pixel pairs stay within ±32640; then they are widened into the int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<int> Low, Vector512<int> High) GroupSums(ref ushort pixels, ref sbyte wg, int pairs)
    {
        Vector512<int> low = default, high = default;
        for (int t0 = 0; t0 < pairs; t0 += 64)
        {
            int t1 = Math.Min(pairs, t0 + 64);
            var acc = Vector512<short>.Zero;
            for (int t = t0; t < t1; t++)
                acc += Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref pixels, t)).AsByte(), Vector512.LoadUnsafe(ref wg, (nuint)t * 64));
            low += Vector512.WidenLower(acc);
            high += Vector512.WidenUpper(acc);
        }
        return (low, high);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ImageSums(CpuBlockData d, ref byte patch, int word, int set, Span<int> sums)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), pairs = d.PatchLength / 2;
        ref ushort pixels = ref Unsafe.As<byte, ushort>(ref patch);
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ChannelImageWeights), (nint)set * d.ImageSetLength + (nint)word * 2 * pairs * 64);
        for (int g = 0; g < groups; g++)
        {
            var (low, high) = GroupSums(ref pixels, ref Unsafe.Add(ref w, (nint)g * pairs * 64), pairs);
            low.CopyTo(sums[(g * 32)..]);
            high.CopyTo(sums[(g * 32 + 16)..]);
        }
    }

    /// <summary>Threshold bits of 16 channel sums (channels 16·i … of the word).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Fire(Vector512<int> sums, ref uint lo, ref uint span, int i) =>
        Vector512.LessThanOrEqual(sums.AsUInt32() - Vector512.LoadUnsafe(ref lo, (nuint)i * 16), Vector512.LoadUnsafe(ref span, (nuint)i * 16))
            .ExtractMostSignificantBits();
}
