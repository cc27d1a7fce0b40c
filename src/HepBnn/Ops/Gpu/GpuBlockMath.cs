using ILGPU;


namespace HepBnn.Ops.Gpu;

/// <summary>
/// Device functions shared by the GPU kernels (ILGPU compiles them into every kernel that calls them). Semantics are
/// those of <c>CpuBlockKernels</c>: zero padding (only in-bounds taps count), integer thresholds per border class,
/// pooling on bits with the per-channel AND/OR mask. <c>inBase</c> is the index of the sample's first word (bits) or
/// byte (image) in <c>input</c>, which may be a global buffer or a shared-memory stage.
/// </summary>
public static class GpuBlockMath
{
    /// <summary>In-bounds kernel taps [lo, hi) of an output coordinate along one axis.</summary>
    public static int TapLo(int start) => start < 0 ? -start : 0;
    public static int TapHi(int start, int kernel, int size) => kernel < size - start ? kernel : size - start;

    public static int ImageByte(ArrayView<ulong> v, long i) => (int)((v[i >> 3] >> (int)((i & 7) << 3)) & 0xFF);

    /// <summary>Integer pre-activation at conv output (oy, ox), channel k.</summary>
    public static int Dot(GpuBlockParams p, ArrayView<ulong> input, long inBase, ArrayView<ulong> weights, ArrayView<int> meta,
        int oy, int ox, int k, bool channelMinor)
    {
        int iy0 = oy * p.Stride - p.Pad, ix0 = ox * p.Stride - p.Pad;
        int kyLo = TapLo(iy0), kyHi = TapHi(iy0, p.KH, p.InH);
        int kxLo = TapLo(ix0), kxHi = TapHi(ix0, p.KW, p.InW);
        if (kyHi <= kyLo || kxHi <= kxLo) return 0; // every tap in the zero padding
        int slots = p.ChannelSlots;
        if (p.ImageInput == 1)
        {
            int c = p.InC, acc = 0, len = (kxHi - kxLo) * c;
            for (int ky = kyLo; ky < kyHi; ky++)
            {
                long pix = inBase + ((long)(iy0 + ky) * p.InW + ix0 + kxLo) * c;
                int t = (ky * p.KW + kxLo) * c;
                for (int i = 0; i < len; i++)
                {
                    int w = channelMinor ? meta[p.ImageWeightOffset + (t + i) * slots + k] : meta[p.ImageWeightOffset + (k * p.KH * p.KW) * c + t + i];
                    acc += ImageByte(input, pix + i) * w;
                }
            }
            return acc;
        }
        int cw = p.InWords, words = (kxHi - kxLo) * cw, pop = 0;
        // Running indices instead of index arithmetic per word: the inner loop is a load pair, XOR, popcount, add.
        long a = inBase + ((long)(iy0 + kyLo) * p.InW + ix0 + kxLo) * cw, rowStep = (long)p.InW * cw;
        long wStep = channelMinor ? slots : 1;
        long b = channelMinor ? (long)(kyLo * p.KW + kxLo) * cw * slots + k : ((long)k * p.KH + kyLo) * p.KW * cw + kxLo * cw;
        long wRowStep = (long)p.KW * cw * wStep;
        for (int ky = kyLo; ky < kyHi; ky++)
        {
            long ai = a, bi = b;
            for (int i = 0; i < words; i++)
            {
                pop += GpuPopc.Count(input[ai] ^ weights[bi]);
                ai++;
                bi += wStep;
            }
            a += rowStep;
            b += wRowStep;
        }
        return (kyHi - kyLo) * (kxHi - kxLo) * p.InC - 2 * pop;
    }

    static long Wide(ArrayView<int> meta, int i) => ((long)meta[i] << 32) | (uint)meta[i + 1];

    /// <summary>Per-channel divisors (image, channel-major weights): P = Σ_c q_c·S_c at conv output (oy, ox), channel k,
    /// with S_c the integer sum over input channel c's in-bounds taps (C ≤ 4; DESIGN.md "First layer").</summary>
    public static long WideDot(GpuBlockParams p, ArrayView<ulong> input, long inBase, ArrayView<int> meta, int oy, int ox, int k, bool channelMinor)
    {
        int iy0 = oy * p.Stride - p.Pad, ix0 = ox * p.Stride - p.Pad;
        int kyLo = TapLo(iy0), kyHi = TapHi(iy0, p.KH, p.InH);
        int kxLo = TapLo(ix0), kxHi = TapHi(ix0, p.KW, p.InW);
        if (kyHi <= kyLo || kxHi <= kxLo) return 0;
        int c = p.InC, s0 = 0, s1 = 0, s2 = 0, s3 = 0, slots = p.ChannelSlots;
        for (int ky = kyLo; ky < kyHi; ky++)
            for (int kx = kxLo; kx < kxHi; kx++)
            {
                long pix = inBase + ((long)(iy0 + ky) * p.InW + ix0 + kx) * c;
                int t = (ky * p.KW + kx) * c;
                // weight of tap t + ch: [K][taps] (channel-major) or [taps][slots] (channel-minor)
                int w = channelMinor ? p.ImageWeightOffset + t * slots + k : p.ImageWeightOffset + k * p.KH * p.KW * c + t, step = channelMinor ? slots : 1;
                s0 += ImageByte(input, pix) * meta[w];
                if (c > 1) s1 += ImageByte(input, pix + 1) * meta[w + step];
                if (c > 2) s2 += ImageByte(input, pix + 2) * meta[w + 2 * step];
                if (c > 3) s3 += ImageByte(input, pix + 3) * meta[w + 3 * step];
            }
        int q = p.MultiplierOffset;
        long sum = Wide(meta, q) * s0;
        if (c > 1) sum += Wide(meta, q + 2) * s1;
        if (c > 2) sum += Wide(meta, q + 4) * s2;
        if (c > 3) sum += Wide(meta, q + 6) * s3;
        return sum;
    }

    /// <summary>Output bit of conv output (oy, ox), channel k, before pooling: the integer threshold, or the 64-bit one of
    /// a block with per-channel divisors.</summary>
    public static bool Decide(GpuBlockParams p, ArrayView<ulong> input, long inBase, ArrayView<ulong> weights, ArrayView<int> meta,
        int oy, int ox, int k, bool channelMinor)
    {
        if (p.ChannelSums == 1)
        {
            long value = Wide(meta, p.WideValueOffset + 2 * ((k * p.RowClasses + meta[p.RowOfOffset + oy]) * p.ColClasses + meta[p.ColOfOffset + ox]));
            return meta[k] * WideDot(p, input, inBase, meta, oy, ox, k, channelMinor) >= value;
        }
        return Fires(p, meta, Dot(p, input, inBase, weights, meta, oy, ox, k, channelMinor), k, oy, ox);
    }

    /// <summary>Bit = Sign·x ≥ threshold of (k, border class of (oy, ox)).</summary>
    public static bool Fires(GpuBlockParams p, ArrayView<int> meta, int x, int k, int oy, int ox) => meta[k] * x >= ThresholdValue(p, meta, k, oy, ox);

    /// <summary>The threshold of (k, border class of (oy, ox)): apart, so a kernel can load it before it waits for its input.</summary>
    public static int ThresholdValue(GpuBlockParams p, ArrayView<int> meta, int k, int oy, int ox) =>
        meta[p.ValueOffset + (k * p.RowClasses + meta[p.RowOfOffset + oy]) * p.ColClasses + meta[p.ColOfOffset + ox]];

    public static bool PoolsWithAnd(ArrayView<ulong> poolAnd, int k) => ((poolAnd[k >> 6] >> (k & 63)) & 1UL) != 0;

    /// <summary>Output bit of channel k at pooled position (py, px): threshold each conv output of the window, then OR
    /// (or AND for the channels the mask names).</summary>
    public static bool PooledBit(GpuBlockParams p, ArrayView<ulong> input, long inBase, ArrayView<ulong> weights, ArrayView<int> meta,
        ArrayView<ulong> poolAnd, int py, int px, int k, bool channelMinor)
    {
        bool any = false, all = true;
        for (int dy = 0; dy < p.Pool; dy++)
            for (int dx = 0; dx < p.Pool; dx++)
            {
                int oy = py * p.PoolStride + dy, ox = px * p.PoolStride + dx;
                bool f = Decide(p, input, inBase, weights, meta, oy, ox, k, channelMinor);
                any |= f;
                all &= f;
            }
        return PoolsWithAnd(poolAnd, k) ? all : any;
    }

    /// <summary>OR of a value over the 32 lanes of a warp (butterfly: every lane gets the result).</summary>
    public static uint WarpOr(uint v)
    {
        for (int m = 16; m >= 1; m >>= 1) v |= Warp.ShuffleXor(v, m);
        return v;
    }
}
