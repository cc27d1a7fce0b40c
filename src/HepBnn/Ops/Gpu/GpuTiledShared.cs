using HepBnn.Devices;
using ILGPU;
using static HepBnn.Ops.Gpu.GpuBlockMath;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Shared-memory tiling: a group per (sample, output row, segment of output columns, chunk of channels) first stages the
/// input it reads into shared memory (one coalesced copy), then each thread computes one channel across the segment from
/// the stage. Weights are stored channel-minor ([tap][word][channel]) so a warp's 32 channels read 32 consecutive words.
/// Neighbouring outputs that see no x padding are computed in pairs that share each weight load. Bits are assembled
/// per warp with shuffles as in the baseline. Rows are split into segments only when there are too few
/// groups to fill the GPU (small batches). Applies where the input rows of one output row fit in 48 KiB.
/// </summary>
public sealed class GpuTiledShared : GpuConfiguration
{
    /// <summary>Shared memory every CUDA device offers a group without opting in.</summary>
    public const int MaxStageBytes = 48 * 1024;

    public override string Name => "gpu.tiled-shared";
    public override string Description => "input tile staged in shared memory, threads over output channels";
    protected override GpuWeightLayout Layout => GpuWeightLayout.ChannelMinor;
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    public override bool Supports(Block block) => base.Supports(block) && StageWords(GpuBlockParams.From(block)) * 8L <= MaxStageBytes;

    /// <summary>Words of the largest stage: the input rows of one output row (image bytes rounded out to whole words).
    /// A segment stages only its columns but keeps the row stride, so the size does not depend on the segment.</summary>
    static int StageWords(GpuBlockParams p)
    {
        long rows = Math.Min(p.RowsPerOutputRow, p.InH);
        return p.ImageInput == 1 ? checked((int)((rows * p.InW * p.InC + 7) / 8 + 1)) : checked((int)(rows * p.InW * p.InWords));
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p.StageWords = Math.Max(1, StageWords(p));
        return p;
    }

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        int group = gpu.MaxGroupSize;
        while (p.ChannelSlots % group != 0) group >>= 1; // slots are a multiple of 32, so this stops at 32 at the latest
        int chunks = p.ChannelSlots / group;
        // Enough groups for every SM twice over: split rows into column segments when batch × rows × chunks is smaller.
        long whole = (long)chunks * p.OutH * batch, target = Math.Max(16, 2 * gpu.Accelerator.NumMultiprocessors);
        int segments = whole >= target ? 1 : (int)Math.Min(p.OutW, (target + whole - 1) / whole);
        p.TileCols = (p.OutW + segments - 1) / segments;
        segments = (p.OutW + p.TileCols - 1) / p.TileCols;
        return new KernelConfig(new Index3D(chunks * segments, p.OutH, batch), new Index3D(group, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(p.StageWords));
    }

    /// <summary>Copies what output row <paramref name="row"/>, columns [<paramref name="col0"/>, <paramref name="col1"/>) of
    /// sample <paramref name="n"/> read into the stage, rows starting at the stage's beginning with the input's row stride;
    /// returns the index of the sample's first word (bits) or byte (image) relative to the stage.</summary>
    static long Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, int n, int row, int col0, int col1)
    {
        int oy = row * p.PoolStride, ox0 = col0 * p.PoolStride, ox1 = (col1 - 1) * p.PoolStride + p.Pool;
        int r0 = oy * p.Stride - p.Pad, r1 = (oy + p.Pool - 1) * p.Stride - p.Pad + p.KH;
        int c0 = ox0 * p.Stride - p.Pad, c1 = (ox1 - 1) * p.Stride - p.Pad + p.KW;
        if (r0 < 0) r0 = 0;
        if (r1 > p.InH) r1 = p.InH;
        if (r1 < r0) r1 = r0;
        if (c0 < 0) c0 = 0;
        if (c1 > p.InW) c1 = p.InW;
        if (c1 < c0) c1 = c0;
        long sample = (long)n * p.InSample;
        if (p.ImageInput == 1)
        {
            // Image rows are a few words: stage whole rows, as words covering their bytes.
            long first = sample + (long)r0 * p.InW * p.InC, end = sample + (long)r1 * p.InW * p.InC;
            long ws = first >> 3, we = (end + 7) >> 3;
            for (long i = Group.IdxX; i < we - ws; i += Group.DimX) stage[i] = input[ws + i];
            Group.Barrier();
            return sample - ws * 8;
        }
        int cw = p.InWords, rowLength = (c1 - c0) * cw;
        long count = (long)(r1 - r0) * rowLength, origin = sample + ((long)r0 * p.InW + c0) * cw;
        for (long i = Group.IdxX; i < count; i += Group.DimX)
        {
            long r = i / rowLength, rest = i - r * rowLength;
            stage[(r * p.InW + c0) * cw + rest] = input[origin + r * p.InW * cw + rest];
        }
        Group.Barrier();
        return -(long)r0 * p.InW * cw;
    }

    /// <summary>The group's part of the grid (channel chunk and column segment in x; output row <paramref name="y"/> and
    /// sample <paramref name="n"/> from y and z): this thread's channel <paramref name="k"/>, the segment's output columns
    /// [x0, x1), and its input rows staged; returns the stage's base as <see cref="Stage"/> does.</summary>
    static long Start(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, int n, int y, out int k,
        out int x0, out int x1)
    {
        int chunks = p.ChannelSlots / Group.DimX, segment = Grid.IdxX / chunks;
        k = (Grid.IdxX - segment * chunks) * Group.DimX + Group.IdxX;
        x0 = segment * p.TileCols;
        x1 = x0 + p.TileCols < p.OutW ? x0 + p.TileCols : p.OutW;
        return Stage(p, input, stage, n, y, x0, x1);
    }

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int py = Grid.IdxY, n = Grid.IdxZ;
        var stage = SharedMemory.GetDynamic<ulong>();
        long inBase = Start(p, input, stage, n, py, out int k, out int px0, out int px1);
        long outBase = ((long)n * p.OutSample + (long)py * p.OutW * p.OutWords) * 2 + (k >> 5), pxStep = (long)p.OutWords * 2;
        bool pairs = p.ImageInput == 0 && p.Pool == 1; // unpooled bits: two neighbouring outputs share each weight load
        for (int px = px0; px < px1;)
        {
            if (pairs && px + 1 < px1 && Interior(p, px) && Interior(p, px + 1))
            {
                long both = DotPair(p, stage, inBase, weights, py, px, px + 1, k);
                bool a = k < p.K && Fires(p, meta, (int)(both >> 32), k, py, px);
                bool b = k < p.K && Fires(p, meta, (int)both, k, py, px + 1);
                uint halfA = WarpOr(a ? 1u << (k & 31) : 0u), halfB = WarpOr(b ? 1u << (k & 31) : 0u);
                if (Warp.LaneIdx == 0)
                {
                    outHalves[outBase + px * pxStep] = halfA;
                    outHalves[outBase + (px + 1) * pxStep] = halfB;
                }
                px += 2;
            }
            else
            {
                bool bit = k < p.K && PooledBitPaired(p, stage, inBase, weights, meta, poolAnd, py, px, k);
                uint half = WarpOr(bit ? 1u << (k & 31) : 0u);
                if (Warp.LaneIdx == 0) outHalves[outBase + px * pxStep] = half;
                px++;
            }
        }
    }

    /// <summary>True when conv output column <paramref name="ox"/> sees all KW kernel columns (no zero padding in x).</summary>
    static bool Interior(GpuBlockParams p, int ox)
    {
        int ix = ox * p.Stride - p.Pad;
        return ix >= 0 && ix + p.KW <= p.InW;
    }

    /// <summary><see cref="PooledBit"/> where neighbouring window columns that are both interior share weight loads.</summary>
    static bool PooledBitPaired(GpuBlockParams p, ArrayView<ulong> stage, long inBase, ArrayView<ulong> weights, ArrayView<int> meta,
        ArrayView<ulong> poolAnd, int py, int px, int k)
    {
        bool any = false, all = true;
        for (int dy = 0; dy < p.Pool; dy++)
        {
            int oy = py * p.PoolStride + dy;
            for (int dx = 0; dx < p.Pool;)
            {
                int ox = px * p.PoolStride + dx;
                if (p.ImageInput == 0 && dx + 1 < p.Pool && Interior(p, ox) && Interior(p, ox + 1))
                {
                    long both = DotPair(p, stage, inBase, weights, oy, ox, ox + 1, k);
                    bool a = Fires(p, meta, (int)(both >> 32), k, oy, ox), b = Fires(p, meta, (int)both, k, oy, ox + 1);
                    any |= a | b;
                    all &= a & b;
                    dx += 2;
                }
                else
                {
                    bool f = Decide(p, stage, inBase, weights, meta, oy, ox, k, true);
                    any |= f;
                    all &= f;
                    dx++;
                }
            }
        }
        return PoolsWithAnd(poolAnd, k) ? all : any;
    }

    /// <summary>Pre-activations of channel k at (oy, oxA) and (oy, oxB), both interior in x, from the bits stage with
    /// channel-minor weights: each weight word is loaded once for both. Returns A in the high and B in the low 32 bits.</summary>
    static long DotPair(GpuBlockParams p, ArrayView<ulong> stage, long inBase, ArrayView<ulong> weights, int oy, int oxA, int oxB, int k)
    {
        int iy0 = oy * p.Stride - p.Pad;
        int kyLo = TapLo(iy0), kyHi = TapHi(iy0, p.KH, p.InH);
        if (kyHi <= kyLo) return 0;
        int cw = p.InWords, words = p.KW * cw, slots = p.ChannelSlots, popA = 0, popB = 0;
        int ixA = oxA * p.Stride - p.Pad, ixB = oxB * p.Stride - p.Pad;
        long a = inBase + ((long)(iy0 + kyLo) * p.InW + ixA) * cw, apart = (long)(ixB - ixA) * cw, rowStep = (long)p.InW * cw;
        long b = (long)kyLo * p.KW * cw * slots + k, wRowStep = (long)p.KW * cw * slots;
        for (int ky = kyLo; ky < kyHi; ky++)
        {
            long ai = a, bi = b;
            for (int i = 0; i < words; i++)
            {
                ulong w = weights[bi];
                popA += GpuPopc.Count(stage[ai] ^ w);
                popB += GpuPopc.Count(stage[ai + apart] ^ w);
                ai++;
                bi += slots;
            }
            a += rowStep;
            b += wRowStep;
        }
        int n = (kyHi - kyLo) * p.KW * p.InC;
        return ((long)(n - 2 * popA) << 32) | (uint)(n - 2 * popB);
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int oy = Grid.IdxY, n = Grid.IdxZ;
        var stage = SharedMemory.GetDynamic<ulong>();
        long inBase = Start(p, input, stage, n, oy, out int k, out int ox0, out int ox1);
        if (k >= p.K) return;
        long outBase = (long)n * p.OutSample + (long)oy * p.OutW * p.K + k;
        for (int ox = ox0; ox < ox1;)
        {
            if (p.ImageInput == 0 && ox + 1 < ox1 && Interior(p, ox) && Interior(p, ox + 1))
            {
                long both = DotPair(p, stage, inBase, weights, oy, ox, ox + 1, k);
                outScores[outBase + (long)ox * p.K] = (int)(both >> 32);
                outScores[outBase + (long)(ox + 1) * p.K] = (int)both;
                ox += 2;
            }
            else
            {
                outScores[outBase + (long)ox * p.K] = Dot(p, stage, inBase, weights, meta, oy, ox, k, true);
                ox++;
            }
        }
    }
}
