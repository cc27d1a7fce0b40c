using HepBnn.Devices;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The 8-bit image block of <see cref="GpuTensorCore"/> on the byte tensor cores with fewer instructions per output than
/// <see cref="GpuTensorCoreImage.Kernel"/> (same rows, fragments, MMAs and results). Nsight Compute on the H200 at
/// batch 256 (docs/results/h200-io256) showed that kernel issue-bound on everything but the MMAs: VGG3's conv1 executed
/// ~1,290 warp instructions per 8 MMAs (16.2 M in 31 µs, 90 registers, 31% occupancy). Here:
/// <list type="bullet">
/// <item>each lane decodes its two rows once into a patch base, the rows' valid kernel rows and columns as bit masks,
/// and its border class (no per-element bounds arithmetic: one tap-table read and two mask bits per element, the byte
/// read straight from a byte view of the image); the high half of a step is skipped where it lies past the patch
/// (VGG3: K = 9 of 32, VGG7: 27 of 32);</item>
/// <item>thresholds as 16-byte <see cref="ThresholdPair"/>s (one load per row and channel pair, not four) and bits set
/// by lane masks into 32-bit halves;</item>
/// <item>pooling windows of 1, 2, 4 or 8 conv outputs reduced with warp shuffles (the window's rows are lanes 4 apart),
/// no shared-memory round trip or group barrier per tile; other windows take the shared-memory path of
/// <see cref="BitsEpilogue"/>.</item>
/// </list>
/// Kernels up to <see cref="GpuTensorCoreImage.MaxFastKernelSide"/> wide and high (the masks are 32-bit words).
/// </summary>
public static class GpuTensorCoreImageFast
{
    public static void Kernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var shared = SharedMemory.Allocate<ulong>(TileRows.MaxRows);
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), shared);
        int lane = Group.IdxX & 31, g = lane >> 2, t = lane & 3, r = (Group.IdxX >> 5) * 16 + g;
        var a = new Row(p, meta, rows, r);
        var b = new Row(p, meta, rows, r + 8);
        var bytes = input.Cast<byte>();
        var pairs = meta.Cast<ThresholdPair>();
        bool held = p.KSteps <= 2; // the same for the whole grid
        var s0 = held ? Gather(p, bytes, meta, a, b, 0) : default;
        var s1 = held && p.KSteps > 1 ? Gather(p, bytes, meta, a, b, 1) : default;
        int w2 = p.Pool * p.Pool;
        int log = w2 == 1 ? 0 : w2 == 2 ? 1 : w2 == 4 ? 2 : w2 == 8 ? 3 : -1; // −1: windows not within 8 rows of lanes
        uint m0 = 1u << (2 * t), m1 = m0 << 1;
        for (int tile = 0; tile < p.PaddedK / 64; tile++)
        {
            var acc = default(MmaTile8);
            long wb = (long)tile * p.KSteps * 256 + lane;
            if (held)
            {
                GpuTensorCoreImage.Mma8(ref acc, s0, weights, wb);
                if (p.KSteps > 1) GpuTensorCoreImage.Mma8(ref acc, s1, weights, wb + 256);
            }
            else
                for (int s = 0; s < p.KSteps; s++) GpuTensorCoreImage.Mma8(ref acc, Gather(p, bytes, meta, a, b, s), weights, wb + (long)s * 256);

            long pa = a.Pair + tile * 32 + t, pb = b.Pair + tile * 32 + t;
            uint loA = Bits(pairs[pa], acc.F0.C0, acc.F0.C1, m0, m1) | Bits(pairs[pa + 4], acc.F1.C0, acc.F1.C1, m0 << 8, m1 << 8)
                     | Bits(pairs[pa + 8], acc.F2.C0, acc.F2.C1, m0 << 16, m1 << 16) | Bits(pairs[pa + 12], acc.F3.C0, acc.F3.C1, m0 << 24, m1 << 24);
            uint hiA = Bits(pairs[pa + 16], acc.F4.C0, acc.F4.C1, m0, m1) | Bits(pairs[pa + 20], acc.F5.C0, acc.F5.C1, m0 << 8, m1 << 8)
                     | Bits(pairs[pa + 24], acc.F6.C0, acc.F6.C1, m0 << 16, m1 << 16) | Bits(pairs[pa + 28], acc.F7.C0, acc.F7.C1, m0 << 24, m1 << 24);
            uint loB = Bits(pairs[pb], acc.F0.C2, acc.F0.C3, m0, m1) | Bits(pairs[pb + 4], acc.F1.C2, acc.F1.C3, m0 << 8, m1 << 8)
                     | Bits(pairs[pb + 8], acc.F2.C2, acc.F2.C3, m0 << 16, m1 << 16) | Bits(pairs[pb + 12], acc.F3.C2, acc.F3.C3, m0 << 24, m1 << 24);
            uint hiB = Bits(pairs[pb + 16], acc.F4.C2, acc.F4.C3, m0, m1) | Bits(pairs[pb + 20], acc.F5.C2, acc.F5.C3, m0 << 8, m1 << 8)
                     | Bits(pairs[pb + 24], acc.F6.C2, acc.F6.C3, m0 << 16, m1 << 16) | Bits(pairs[pb + 28], acc.F7.C2, acc.F7.C3, m0 << 24, m1 << 24);
            // The 4 lanes of a row hold interleaved channel pairs: OR their bits together.
            loA = OrQuad(loA);
            hiA = OrQuad(hiA);
            loB = OrQuad(loB);
            hiB = OrQuad(hiB);
            ulong andMask = poolAnd[tile];
            if (log >= 0) PoolByShuffles(p, outWords, rows, r, g, t, log, tile, andMask, loA, hiA, loB, hiB);
            else
            {
                if (tile > 0) Group.Barrier(); // the previous tile's pooling has read the rows' bits
                if (t == 0)
                {
                    shared[r] = loA | (ulong)hiA << 32;
                    shared[r + 8] = loB | (ulong)hiB << 32;
                }
                Group.Barrier();
                PoolShared(p, outWords, shared, tile, andMask);
            }
        }
    }

    /// <summary>Window rows q·w2 .. q·w2 + w2 − 1 are lanes 4 apart (w2 ≤ 8 divides the 8 rows of a half): AND and OR over
    /// them by shuffles; the window's first row's lane 0 of its quad stores the pooled word. Every lane calls it.</summary>
    static void PoolByShuffles(GpuBlockParams p, ArrayView<ulong> outWords, TileRows rows, int r, int g, int t, int log, int tile,
        ulong andMask, uint loA, uint hiA, uint loB, uint hiB)
    {
        uint anyLoA = loA, allLoA = loA, anyHiA = hiA, allHiA = hiA, anyLoB = loB, allLoB = loB, anyHiB = hiB, allHiB = hiB;
        for (int k = 4; k < 4 << log; k <<= 1)
        {
            anyLoA |= Warp.ShuffleXor(anyLoA, k);
            allLoA &= Warp.ShuffleXor(allLoA, k);
            anyHiA |= Warp.ShuffleXor(anyHiA, k);
            allHiA &= Warp.ShuffleXor(allHiA, k);
            anyLoB |= Warp.ShuffleXor(anyLoB, k);
            allLoB &= Warp.ShuffleXor(allLoB, k);
            anyHiB |= Warp.ShuffleXor(anyHiB, k);
            allHiB &= Warp.ShuffleXor(allHiB, k);
        }
        if (t != 0 || (g & ((1 << log) - 1)) != 0) return;
        Store(p, outWords, rows, r, log, tile, andMask, anyLoA | (ulong)anyHiA << 32, allLoA | (ulong)allHiA << 32);
        Store(p, outWords, rows, r + 8, log, tile, andMask, anyLoB | (ulong)anyHiB << 32, allLoB | (ulong)allHiB << 32);
    }

    /// <summary>The pooled word of the window starting at row <paramref name="r"/> (nothing for an empty window).</summary>
    static void Store(GpuBlockParams p, ArrayView<ulong> outWords, TileRows rows, int r, int log, int tile, ulong andMask, ulong any, ulong all)
    {
        int n = rows.N[r];
        if (n < 0) return;
        long gq = (long)Grid.IdxX * p.TilePooled + (r >> log), per = (long)p.OutH * p.OutW;
        outWords[n * (long)p.OutSample + (gq - n * per) * p.OutWords + tile] = (all & andMask) | (any & ~andMask);
    }

    /// <summary>Windows of other sizes: the rows' words from shared memory (as <see cref="BitsEpilogue"/>).</summary>
    static void PoolShared(GpuBlockParams p, ArrayView<ulong> outWords, ArrayView<ulong> bits, int tile, ulong andMask)
    {
        int q = Group.IdxX, w2 = p.Pool * p.Pool;
        long per = (long)p.OutH * p.OutW, gq = (long)Grid.IdxX * p.TilePooled + q;
        if (q >= p.TilePooled || gq >= p.Batch * per) return; // no barrier follows within this tile
        ulong any = 0, all = ~0UL;
        for (int i = 0; i < w2; i++)
        {
            ulong v = bits[q * w2 + i];
            any |= v;
            all &= v;
        }
        long n = gq / per;
        outWords[n * p.OutSample + (gq - n * per) * p.OutWords + tile] = (all & andMask) | (any & ~andMask);
    }

    /// <summary>Mask bits <paramref name="m0"/>, <paramref name="m1"/> for the two channels whose raw sums fire.</summary>
    static uint Bits(ThresholdPair th, int x0, int x1, uint m0, uint m1) =>
        ((uint)(x0 - th.V0) <= (uint)th.S0 ? m0 : 0u) | ((uint)(x1 - th.V1) <= (uint)th.S1 ? m1 : 0u);

    static uint OrQuad(uint v)
    {
        v |= Warp.ShuffleXor(v, 1);
        return v | Warp.ShuffleXor(v, 2);
    }

    /// <summary>This lane's A registers of 32-element step <paramref name="s"/>: rows g (<paramref name="a"/>) and g+8
    /// (<paramref name="b"/>), elements 4t.. and 16+4t.. of the step, one byte each (0 in the padding and past the patch).
    /// Straight-line and branch-free per half, so a half's 8 table reads and then its 8 byte reads are in flight together
    /// instead of one element's chain after another. Past the patch the table's ky = 32767 fails the row mask (a shift
    /// past the word), and the B fragments are zero there anyway.</summary>
    static GpuTensorCoreImage.ImageFragment Gather(GpuBlockParams p, ArrayView<byte> bytes, ArrayView<int> meta, Row a, Row b, int s)
    {
        int taps = p.KH * p.KW * p.InC, e0 = 32 * s + 4 * (Group.IdxX & 3);
        var lo = Half(p, bytes, meta, a, b, e0);
        var hi = 32 * s + 16 < taps ? Half(p, bytes, meta, a, b, e0 + 16) : default; // the same for the whole warp
        return new GpuTensorCoreImage.ImageFragment { A0 = lo.A, A1 = lo.B, A2 = hi.A, A3 = hi.B };
    }

    /// <summary>Elements e0..e0+3 of rows a and b, packed low byte first (table entries of 2 ints at ImageWeightOffset).</summary>
    static (uint A, uint B) Half(GpuBlockParams p, ArrayView<byte> bytes, ArrayView<int> meta, Row a, Row b, int e0)
    {
        int t = p.ImageWeightOffset + 2 * e0;
        int d0 = meta[t], o0 = meta[t + 1], d1 = meta[t + 2], o1 = meta[t + 3];
        int d2 = meta[t + 4], o2 = meta[t + 5], d3 = meta[t + 6], o3 = meta[t + 7];
        uint va = a.Byte(bytes, d0, o0) | a.Byte(bytes, d1, o1) << 8 | a.Byte(bytes, d2, o2) << 16 | a.Byte(bytes, d3, o3) << 24;
        uint vb = b.Byte(bytes, d0, o0) | b.Byte(bytes, d1, o1) << 8 | b.Byte(bytes, d2, o2) << 16 | b.Byte(bytes, d3, o3) << 24;
        return (va, vb);
    }

    /// <summary>One row's convolution window, decoded once: the byte index of its top-left pixel (may lie in the padding),
    /// its valid kernel rows and columns as bit masks (none for an empty row), and its thresholds' first pair.</summary>
    struct Row
    {
        readonly long _base;
        readonly uint _rows, _cols;
        public readonly long Pair;

        public Row(GpuBlockParams p, ArrayView<int> meta, TileRows tile, int r)
        {
            int n = tile.N[r], oy = tile.Y[r], ox = tile.X[r];
            int y = oy * p.Stride - p.Pad, x = ox * p.Stride - p.Pad;
            bool empty = n < 0;
            _rows = empty ? 0u : Mask(y, p.KH, p.InH);
            _cols = empty ? 0u : Mask(x, p.KW, p.InW);
            _base = (long)(empty ? 0 : n) * p.InSample + ((long)y * p.InW + x) * p.InC;
            int cls = empty ? 0 : meta[p.RowOfOffset + oy] * p.ColClasses + meta[p.ColOfOffset + ox];
            Pair = p.PairOffset / 4 + (long)cls * (p.PaddedK / 2);
        }

        /// <summary>Bits j of [0, k) with 0 ≤ start + j &lt; size (k ≤ 31).</summary>
        static uint Mask(int start, int k, int size)
        {
            int lo = start >= 0 ? 0 : (-start < 31 ? -start : 31);
            int hi = size - start < k ? size - start : k;
            if (hi < 0) hi = 0;
            return ((1u << hi) - 1) & ~((1u << lo) - 1);
        }

        /// <summary>The byte of tap entry (d = ky·65536 + kx, <paramref name="off"/> from the window's top-left pixel), or 0
        /// in the padding and past the patch (ky = 32767: the shifted mask is 0 in PTX, where shifts past the width give
        /// 0, and in C#, where the count is taken mod 32 and bit 31 of a mask is never set).</summary>
        public readonly uint Byte(ArrayView<byte> bytes, int d, int off)
        {
            // Branch-free (the loads of a step stay in flight together); a padding tap reads byte 0 and masks it.
            uint ok = (_rows >> (d >> 16)) & (_cols >> (d & 0xFFFF)) & 1u;
            long i = ok != 0 ? _base + off : 0;
            return bytes[i] & (0u - ok);
        }
    }
}
