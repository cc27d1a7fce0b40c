using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using HepBnn.Devices;

namespace HepBnn.Ops.Cpu;

/// <summary>AVX-512 region kernel for small single-channel image layers whose int16 sums fit (VGG3's Fashion-MNIST first
/// layer: 1×28×28, 3×3, 64 channels, 2×2 max-pool): the region's input rows are copied once into a zero-bordered
/// buffer, so that every output pixel — border pixels included — reads its ≤ 5 pixel pairs straight from it at fixed
/// offsets, and the 10 weight vectors (5 pairs × 2 lane groups of 32 channels) stay in registers for the whole region.
/// Per pixel: ≤ 5 broadcasts, 10 VPMADDUBSW, the int16 threshold test by border class, the pool's OR/AND in registers.
/// The generic path (<see cref="CpuBlockKernels.BitsRegion{TK}"/>) reloads the weights per pixel pair, composes the
/// pairs from a per-pixel offset table, gathers border patches and keeps the pool accumulators in memory: 12.1 µs per
/// image on one Zen 4 core for this block; this kernel 3.9–4.0 (5.4 before the 3×3 pair layout became compile-time:
/// branches per pair and spilled offsets), where its 784 × 10 multiply-adds alone take ~2.
/// Zero pixels at out-of-bounds taps give the sums the gathered patch gives (its zeros), and the border class still
/// picks the thresholds, so the bits are the same. <c>HEPBNN_IMAGE_ROWS=0</c> turns it off (A/B runs).</summary>
public sealed class ImageRows512
{
    /// <summary>Pixel pairs a patch may have: 3×3 (9 taps) and smaller single-channel kernels.</summary>
    public const int MaxPairs = 5;

    public static readonly bool Enabled = EnvironmentSwitches.ImageRows;

    readonly CpuBlockData _d;
    readonly int _paddedW, _stride, _kh, _pad;
    // pair t's value: the 16-bit word at offset A[t], or (split) the bytes at A[t] and B[t]; pairs past the patch read
    // offset 0 and meet zero weights
    readonly int[] _a = new int[MaxPairs], _b = new int[MaxPairs];
    readonly bool _is3x3;

    /// <summary>Whether the kernel computes <paramref name="d"/>'s block: an AVX-512 image layer with one input channel,
    /// ≤ 10 patch bytes, int16 sums, plain thresholds (no per-channel divisors), 33–64 output channels, bits out.</summary>
    public static bool Applies(CpuBlockData d) =>
        Enabled && Avx512BW.IsSupported && d.IsImage && d.ImageLanes == 32 && d.HasSums16 && !d.HasChannelSums
        && d.Block.InputShape.C == 1 && d.PatchLength <= 2 * MaxPairs && d.Block.OutChannels is > 32 and <= 64
        && d.Block.Output == BlockOutput.Bits;

    /// <summary>Bytes of the zero-bordered row buffer a worker needs for <paramref name="d"/> (every padded input row,
    /// plus slack for the last pair's 16-bit read).</summary>
    public static int BufferBytes(CpuBlockData d)
    {
        var b = d.Block;
        return (b.InputShape.H + 2 * b.Padding) * (b.InputShape.W + 2 * b.Padding) + 16;
    }

    public ImageRows512(CpuBlockData d)
    {
        _d = d;
        var b = d.Block;
        _paddedW = b.InputShape.W + 2 * b.Padding;
        _stride = b.Stride;
        _kh = b.KernelH;
        _pad = b.Padding;
        int taps = b.KernelH * b.KernelW;
        _is3x3 = b.KernelH == 3 && b.KernelW == 3;
        for (int t = 0; t < MaxPairs; t++)
        {
            int j = 2 * t;
            if (j >= taps) { _a[t] = 0; _b[t] = -1; continue; }
            _a[t] = j / b.KernelW * _paddedW + j % b.KernelW;
            int second = j + 1 < taps ? (j + 1) / b.KernelW * _paddedW + (j + 1) % b.KernelW : -1;
            // a missing second tap has a zero weight: the 16-bit read's high byte (the next buffer byte) is ignored
            _b[t] = second == _a[t] + 1 || second < 0 ? -1 : second;
        }
    }

    /// <summary>Pooled output pixels [py0, py1) × [px0, px1) (conv pixels when the block has no pool) of one sample:
    /// <paramref name="sample"/> is its first pixel byte, <paramref name="outWords"/> its packed output words.</summary>
    public void Region(ref byte sample, Span<ulong> outWords, int py0, int py1, int px0, int px1, byte[] buffer)
    {
        if (_is3x3) Region<Layout3x3>(ref sample, outWords, py0, py1, px0, px1, buffer);
        else Region<AnyLayout>(ref sample, outWords, py0, py1, px0, px1, buffer);
    }

    /// <summary>Where a patch's pixel pairs lie in the row buffer: known at compile time for the 3×3 kernel (VGG3's), so
    /// that each pair is one load (or two bytes for the one pair that wraps to the next row) with no branch or table.</summary>
    interface IPairLayout
    {
        static abstract ushort Pair(ref byte from, int paddedW, int t, int[] a, int[] b);
    }

    /// <summary>3×3 taps in pairs (0,1) (2,3) (4,5) (6,7) (8,–): (0,1), (4,5) = row 1's taps 1–2, (6,7) = row 2's taps
    /// 0–1 are neighbours; (2,3) wraps from row 0's tap 2 to row 1's tap 0; (8,–) reads a neighbour byte whose weight is 0.</summary>
    struct Layout3x3 : IPairLayout
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ushort Pair(ref byte from, int paddedW, int t, int[] a, int[] b) => t switch
        {
            0 => Unsafe.ReadUnaligned<ushort>(ref from),
            1 => (ushort)(Unsafe.Add(ref from, 2) | Unsafe.Add(ref from, paddedW) << 8),
            2 => Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref from, paddedW + 1)),
            3 => Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref from, 2 * paddedW)),
            _ => Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref from, 2 * paddedW + 2)),
        };
    }

    /// <summary>Any other single-channel kernel of ≤ 10 taps: offsets from the tables built at set-up.</summary>
    struct AnyLayout : IPairLayout
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ushort Pair(ref byte from, int paddedW, int t, int[] a, int[] b) =>
            b[t] < 0 ? Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref from, a[t])) : (ushort)(Unsafe.Add(ref from, a[t]) | Unsafe.Add(ref from, b[t]) << 8);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Region<TL>(ref byte sample, Span<ulong> outWords, int py0, int py1, int px0, int px1, byte[] buffer) where TL : struct, IPairLayout
    {
        var b = _d.Block;
        var os = b.OutputShape;
        int size = b.HasPool ? b.PoolSize : 1, poolStride = b.HasPool ? b.PoolStride : 1, ocw = os.ChannelWords;
        int oy0 = py0 * poolStride, oy1 = (py1 - 1) * poolStride + size; // conv rows [oy0, oy1)
        int firstRow = oy0 * _stride;                                     // the buffer's first padded input row
        FillRows(ref sample, firstRow, (oy1 - 1) * _stride + _kh - firstRow, buffer);

        ref sbyte w = ref MemoryMarshal.GetArrayDataReference(_d.ImageLaneWeights);
        int pairs = _d.PatchLength / 2;
        // group a (channels 0..31) at pair t · 64 bytes, group b at (pairs + t) · 64; missing pairs get zero weights
        var wa0 = Weights(ref w, 0, pairs); var wa1 = Weights(ref w, 1, pairs); var wa2 = Weights(ref w, 2, pairs);
        var wa3 = Weights(ref w, 3, pairs); var wa4 = Weights(ref w, 4, pairs);
        ref sbyte wbRef = ref Unsafe.Add(ref w, pairs * 64);
        var wb0 = Weights(ref wbRef, 0, pairs); var wb1 = Weights(ref wbRef, 1, pairs); var wb2 = Weights(ref wbRef, 2, pairs);
        var wb3 = Weights(ref wbRef, 3, pairs); var wb4 = Weights(ref wbRef, 4, pairs);
        int[] pa = _a, pb = _b;
        int paddedW = _paddedW, convStride = _stride;

        ref byte buf = ref MemoryMarshal.GetArrayDataReference(buffer);
        ref ushort lo = ref MemoryMarshal.GetArrayDataReference(_d.SumLo16);
        ref ushort span = ref MemoryMarshal.GetArrayDataReference(_d.SumSpan16);
        int[] rowClass = _d.RowClass, colClass = _d.ColClass;
        int colClasses = _d.ColClasses, paddedK = _d.PaddedK;
        ulong andMask = b.HasPool ? b.PoolAndMask[0] : 0;
        for (int py = py0; py < py1; py++)
            for (int px = px0; px < px1; px++)
            {
                ulong any = 0, all = ~0UL;
                for (int dy = 0; dy < size; dy++)
                {
                    int oy = py * poolStride + dy;
                    int row = (oy * convStride - firstRow) * paddedW, clsRow = rowClass[oy] * colClasses;
                    for (int dx = 0; dx < size; dx++)
                    {
                        int ox = px * poolStride + dx;
                        ref byte from = ref Unsafe.Add(ref buf, row + ox * convStride);
                        var p0 = Broadcast(TL.Pair(ref from, paddedW, 0, pa, pb)); var p1 = Broadcast(TL.Pair(ref from, paddedW, 1, pa, pb));
                        var p2 = Broadcast(TL.Pair(ref from, paddedW, 2, pa, pb)); var p3 = Broadcast(TL.Pair(ref from, paddedW, 3, pa, pb));
                        var p4 = Broadcast(TL.Pair(ref from, paddedW, 4, pa, pb));
                        var sa = Avx512BW.MultiplyAddAdjacent(p0, wa0) + Avx512BW.MultiplyAddAdjacent(p1, wa1)
                                 + (Avx512BW.MultiplyAddAdjacent(p2, wa2) + Avx512BW.MultiplyAddAdjacent(p3, wa3))
                                 + Avx512BW.MultiplyAddAdjacent(p4, wa4);
                        var sb = Avx512BW.MultiplyAddAdjacent(p0, wb0) + Avx512BW.MultiplyAddAdjacent(p1, wb1)
                                 + (Avx512BW.MultiplyAddAdjacent(p2, wb2) + Avx512BW.MultiplyAddAdjacent(p3, wb3))
                                 + Avx512BW.MultiplyAddAdjacent(p4, wb4);
                        nint t = (clsRow + colClass[ox]) * paddedK;
                        ulong bits = Fire(sa, ref Unsafe.Add(ref lo, t), ref Unsafe.Add(ref span, t))
                                     | Fire(sb, ref Unsafe.Add(ref lo, t + 32), ref Unsafe.Add(ref span, t + 32)) << 32;
                        any |= bits;
                        all &= bits;
                    }
                }
                outWords[(py * os.W + px) * ocw] = b.HasPool ? (any & ~andMask) | (all & andMask) : any;
            }
    }

    /// <summary>Copies padded input rows [first, first + count) into <paramref name="buffer"/>: zeros left and right
    /// of each row and for rows outside the image (the conv's zero padding).</summary>
    void FillRows(ref byte sample, int first, int count, byte[] buffer)
    {
        var s = _d.Block.InputShape;
        int width = s.W;
        ref byte dst = ref MemoryMarshal.GetArrayDataReference(buffer);
        for (int r = 0; r < count; r++)
        {
            int iy = first + r - _pad;
            ref byte to = ref Unsafe.Add(ref dst, r * _paddedW);
            if (iy < 0 || iy >= s.H) { Unsafe.InitBlockUnaligned(ref to, 0, (uint)_paddedW); continue; }
            Unsafe.InitBlockUnaligned(ref to, 0, (uint)_pad);
            Unsafe.CopyBlockUnaligned(ref Unsafe.Add(ref to, _pad), ref Unsafe.Add(ref sample, iy * width), (uint)width);
            Unsafe.InitBlockUnaligned(ref Unsafe.Add(ref to, _pad + width), 0, (uint)_pad);
        }
        Unsafe.InitBlockUnaligned(ref Unsafe.Add(ref dst, count * _paddedW), 0, 16); // the last pair's high byte
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<sbyte> Weights(ref sbyte w, int t, int pairs) => t < pairs ? Vector512.LoadUnsafe(ref w, (nuint)t * 64) : default;

    /// <summary>A pixel pair broadcast to every 16-bit lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> Broadcast(ushort pair) => Vector512.Create(pair).AsByte();

    /// <summary>Threshold bits of 32 int16 sums: (ushort)(x − lo) ≤ span (<see cref="CpuBlockData.SumLo16"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Fire(Vector512<short> sums, ref ushort lo, ref ushort span) =>
        Vector512.LessThanOrEqual(sums.AsUInt16() - Vector512.LoadUnsafe(ref lo), Vector512.LoadUnsafe(ref span)).ExtractMostSignificantBits();
}
