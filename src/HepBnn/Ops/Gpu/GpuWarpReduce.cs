using HepBnn.Devices;
using ILGPU;
using static HepBnn.Ops.Gpu.GpuBlockMath;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// A warp per output word (bits) or per 32/L channels (scores): the reduction over (kh, kw, C words) of each channel is
/// split across L lanes (L ≈ a quarter of the reduction length, a power of two in 2..32) and summed with warp shuffles,
/// so 32/L channels proceed side by side. Lanes read consecutive words of one channel's weight row (coalesced). Each
/// lane collects its channels' bits; one OR across the sub-groups at the end assembles the word.
/// </summary>
public sealed class GpuWarpReduce : GpuConfiguration
{
    public override string Name => "gpu.warp-reduce";
    public override string Description => "a warp per output word, reduction split across lanes + shuffle sums";
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        int quarter = (p.ReductionLength + 3) / 4, lanes = 2;
        while (lanes < quarter && lanes < GpuDevice.WarpSize) lanes <<= 1;
        p.Lanes = lanes;
        return p;
    }

    protected internal override KernelConfig Launch(GpuBlockParams p, int batch, GpuDevice gpu)
    {
        int perStep = GpuDevice.WarpSize / p.Lanes;
        long warps = (long)p.OutH * p.OutW * (p.ScoresOutput == 1 ? (p.K + perStep - 1) / perStep : p.OutWords);
        return Linear(warps * GpuDevice.WarpSize, gpu.MaxGroupSize, batch);
    }

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        int lane = Group.IdxX & 31, n = Grid.IdxY;
        int warp = Grid.IdxX * (Group.DimX >> 5) + (Group.IdxX >> 5);
        if (warp >= p.OutH * p.OutW * p.OutWords) return; // whole warps
        int pixel = warp / p.OutWords, w = warp - pixel * p.OutWords;
        int py = pixel / p.OutW, px = pixel - py * p.OutW;
        int lanes = p.Lanes, sub = lane / lanes, part = lane - sub * lanes, perStep = 32 / lanes;
        long inBase = (long)n * p.InSample;
        ulong word = 0;
        for (int c0 = 0; c0 < 64 && w * 64 + c0 < p.K; c0 += perStep)
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
        for (int m = lanes; m < 32; m <<= 1) word |= Warp.ShuffleXor(word, m); // combine the sub-groups' channels
        if (lane == 0) outWords[(long)n * p.OutSample + (long)pixel * p.OutWords + w] = word;
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
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
        bool empty = kyHi <= kyLo || kxHi <= kxLo;
        bool image = p.ImageInput == 1;
        int unit = image ? p.InC : p.InWords;
        int rows = empty ? 0 : kyHi - kyLo, len = empty ? 1 : (kxHi - kxLo) * unit;
        long kBase = (long)k * p.KH * p.KW * unit;
        int partial = 0, row = 0, i = part;
        while (row < rows && i >= len) { i -= len; row++; }
        while (row < rows)
        {
            int ky = kyLo + row;
            long a = inBase + ((long)(iy0 + ky) * p.InW + ix0 + kxLo) * unit + i;
            long t = kBase + (ky * p.KW + kxLo) * unit + i;
            partial += image ? ImageByte(input, a) * meta[p.ImageWeightOffset + t] : IntrinsicMath.BitOperations.PopCount(input[a] ^ weights[t]);
            i += lanes;
            while (row < rows && i >= len) { i -= len; row++; }
        }
        for (int m = 1; m < lanes; m <<= 1) partial += Warp.ShuffleXor(partial, m);
        if (empty) return 0;
        return image ? partial : rows * (kxHi - kxLo) * p.InC - 2 * partial;
    }
}
