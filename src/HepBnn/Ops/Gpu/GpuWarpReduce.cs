using HepBnn.Devices;
using ILGPU;
using static HepBnn.Ops.Gpu.GpuBlockMath;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Reduction split across lanes: each output channel's sum over (kh, kw, C words) is dealt to L lanes (L ≈ a quarter of
/// the reduction length, a power of two in 2..32) and added with warp shuffles, so a warp advances 32/L channels at once
/// and lanes read consecutive words of a channel's weight row (coalesced). Bits: a group of up to 4 warps per output word,
/// the warps taking turns over its 64 channels; each lane collects its channels' bits, shuffles OR them per warp and
/// shared memory ORs the warps. Scores: a warp per 32/L channels of a pixel.
/// </summary>
public sealed class GpuWarpReduce : GpuConfiguration
{
    /// <summary>Warps per group at most (groups have at most 128 threads).</summary>
    const int MaxWarps = 4;

    public override string Name => "gpu.warp-reduce";
    /// <summary>The lanes' partial sums are reduced as one int; per-input-channel partial sums are not built.</summary>
    protected override bool SupportsChannelSums => false;
    public override string Description => "reduction split across warp lanes, shuffle sums; a group per output word";
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        int quarter = (p.ReductionLength + 3) / 4, lanes = 2;
        while (lanes < quarter && lanes < GpuDevice.WarpSize) lanes <<= 1;
        p.Lanes = lanes;
        return p;
    }

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        int perStep = GpuDevice.WarpSize / p.Lanes;
        if (p.ScoresOutput == 1)
            return Linear((long)p.OutH * p.OutW * ((p.K + perStep - 1) / perStep) * GpuDevice.WarpSize, gpu.MaxGroupSize, batch);
        // As many warps as the word's channels give work to (1..4).
        int steps = (Math.Min(p.K, 64) + perStep - 1) / perStep;
        int warps = Math.Clamp(steps, 1, Math.Min(MaxWarps, gpu.MaxGroupSize / GpuDevice.WarpSize));
        return new KernelConfig(new Index3D(p.OutH * p.OutW * p.OutWords, batch, 1), new Index3D(warps * GpuDevice.WarpSize, 1, 1));
    }

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int lane = Group.IdxX & 31, warpInGroup = Group.IdxX >> 5, warps = Group.DimX >> 5, n = Grid.IdxY;
        int pixel = Grid.IdxX / p.OutWords, w = Grid.IdxX - pixel * p.OutWords; // one group per output word
        int py = pixel / p.OutW, px = pixel - py * p.OutW;
        int lanes = p.Lanes, sub = lane / lanes, part = lane - sub * lanes, perStep = 32 / lanes;
        long inBase = (long)n * p.InSample;
        ulong word = 0;
        for (int c0 = warpInGroup * perStep; c0 < 64 && w * 64 + c0 < p.K; c0 += warps * perStep)
        {
            int j = c0 + sub, k = w * 64 + j;
            bool valid = k < p.K;
            int kk = valid ? k : 0;
            bool any = false, all = true;
            for (int dy = 0; dy < p.Pool; dy++)
                for (int dx = 0; dx < p.Pool; dx++)
                {
                    int oy = py * p.PoolStride + dy, ox = px * p.PoolStride + dx;
                    bool f = Fires(p, meta, ReducedDot(p, input, inBase, weights, meta, oy, ox, kk, part, lanes), kk, oy, ox);
                    any |= f;
                    all &= f;
                }
            if (valid && (PoolsWithAnd(poolAnd, kk) ? all : any)) word |= 1UL << j;
        }
        // OR the sub-groups' channels (lanes ≥ L apart). Fixed 5-step butterflies with the unwanted steps masked out:
        // every lane runs the same shuffles whatever L is (64-bit values are split into two 32-bit shuffles).
        word = OrStep(word, 1, lanes);
        word = OrStep(word, 2, lanes);
        word = OrStep(word, 4, lanes);
        word = OrStep(word, 8, lanes);
        word = OrStep(word, 16, lanes);
        var perWarp = SharedMemory.Allocate<ulong>(MaxWarps);
        if (lane == 0) perWarp[warpInGroup] = word;
        Group.Barrier();
        if (Group.IdxX == 0)
        {
            ulong all = 0;
            for (int i = 0; i < warps; i++) all |= perWarp[i];
            outWords[(long)n * p.OutSample + (long)pixel * p.OutWords + w] = all;
        }
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int lane = Group.IdxX & 31, n = Grid.IdxY;
        int warp = Grid.IdxX * (Group.DimX >> 5) + (Group.IdxX >> 5);
        int lanes = p.Lanes, sub = lane / lanes, part = lane - sub * lanes, perStep = 32 / lanes;
        int groups = (p.K + perStep - 1) / perStep;
        if (warp >= p.OutH * p.OutW * groups) return;
        int pixel = warp / groups, k = (warp - pixel * groups) * perStep + sub;
        int oy = pixel / p.OutW, ox = pixel - oy * p.OutW;
        bool valid = k < p.K;
        int x = ReducedDot(p, input, (long)n * p.InSample, weights, meta, oy, ox, valid ? k : 0, part, lanes);
        if (valid && part == 0) outScores[(long)n * p.OutSample + (long)pixel * p.K + k] = x;
    }

    /// <summary>Pre-activation of channel k at (oy, ox), the taps' units dealt round-robin to <paramref name="lanes"/> lanes
    /// and summed by an XOR butterfly inside each aligned group of lanes. Every lane of the warp must call it.</summary>
    static int ReducedDot(GpuBlockParams p, ArrayView<ulong> input, long inBase, ArrayView<ulong> weights, ArrayView<int> meta,
        int oy, int ox, int k, int part, int lanes)
    {
        int iy0 = oy * p.Stride - p.Pad, ix0 = ox * p.Stride - p.Pad;
        int kyLo = TapLo(iy0), kyHi = TapHi(iy0, p.KH, p.InH);
        int kxLo = TapLo(ix0), kxHi = TapHi(ix0, p.KW, p.InW);
        int rows = kyHi - kyLo, cols = kxHi - kxLo;
        if (rows < 0) rows = 0;
        if (cols < 0) cols = 0;
        bool image = p.ImageInput == 1;
        int unit = image ? p.InC : p.InWords, len = cols * unit, units = rows * len;
        long kBase = (long)k * p.KH * p.KW * unit;
        int partial = 0;
        for (int u = part; u < units; u += lanes)
        {
            int r = u / len, i = u - r * len, ky = kyLo + r;
            long a = inBase + ((long)(iy0 + ky) * p.InW + ix0 + kxLo) * unit + i;
            long t = kBase + (ky * p.KW + kxLo) * unit + i;
            if (image) partial += ImageByte(input, a) * meta[p.ImageWeightOffset + t];
            else partial += GpuPopc.Count(input[a] ^ weights[t]);
        }
        // Sum over the L lanes of this channel (lanes < L apart): fixed 5 butterfly steps, unwanted ones masked out.
        partial = SumStep(partial, 1, lanes);
        partial = SumStep(partial, 2, lanes);
        partial = SumStep(partial, 4, lanes);
        partial = SumStep(partial, 8, lanes);
        partial = SumStep(partial, 16, lanes);
        return image ? partial : rows * cols * p.InC - 2 * partial;
    }

    /// <summary>One butterfly step of the lane sum: adds lane ^ m when m is inside the channel's L lanes.</summary>
    static int SumStep(int v, int m, int lanes)
    {
        int other = Warp.ShuffleXor(v, m);
        return m < lanes ? v + other : v;
    }

    /// <summary>One butterfly step of the word OR: takes lane ^ m's bits when m reaches another sub-group.</summary>
    static ulong OrStep(ulong word, int m, int lanes)
    {
        uint lo = Warp.ShuffleXor((uint)word, m), hi = Warp.ShuffleXor((uint)(word >> 32), m);
        return m >= lanes ? word | ((ulong)hi << 32) | lo : word;
    }
}
