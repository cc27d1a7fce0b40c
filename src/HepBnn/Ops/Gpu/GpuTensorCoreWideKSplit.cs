using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide"/>'s product with the reduction split over the warps of ONE group (split-K inside the
/// group, the partial sums meeting in shared memory): a group owns 16 rows × one 64-channel tile, its 4 warps each
/// multiply a quarter of the MMA steps, and warp 0 adds the others' accumulators and runs the usual bits epilogue. For
/// long reductions over few rows: VGG3's fc1 at batch 256 (13 steps, 256 rows, 32 channel tiles) ran on the wide kernels
/// as 128 groups of 4 warps, each warp a chain of 13 dependent steps with one warp per scheduler (7 µs for ~0.4 µs of MMA
/// work, issue 9); here it is 512 groups (4 resident per SM, 4 warps per scheduler) of chains of 3–4 steps, with no
/// global atomics (<see cref="GpuTensorCoreWideSplit"/> meets in device scratch). The epilogue is
/// <see cref="WideBitsEpilogue"/> run by every warp (it waits for the group): warps 1–3 hold rows 16–63 of the tile's
/// row table, which are empty (no pooled output reads them), so what they store is never used. Bits output only, pooling
/// windows of up to 16 conv outputs (whole windows in 16 rows); the profiler measures it beside the others per block.
/// </summary>
public sealed class GpuTensorCoreWideKSplit : GpuTensorCoreWide
{
    /// <summary>Rows a group computes: one warp's m16 tile.</summary>
    const int GroupRows = 16;
    /// <summary>Warps per group (fewer on ILGPU's CPU accelerator, whose groups take 64 threads): the shared partial sums
    /// are sized for this many.</summary>
    const int MaxWarps = 4;
    /// <summary>Ints of one lane's accumulators: 8 fragments and popc(a), 4 each.</summary>
    const int LaneInts = 36;

    public override string Name => "gpu.tensor-core-wide-ksplit";
    public override string Description => "gpu.tensor-core-wide with 16 rows per group and the reduction split over its 4 warps (partial sums in shared memory)";
    protected override GpuKernelMethod Bits => KSplitBitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernelDeep; // never launched: scores are refused

    public override string? Refusal(Block block)
    {
        if (base.Refusal(block) is { } refusal) return refusal;
        if (block.Output == BlockOutput.Scores) return "scores output (bits only)";
        if (block.HasPool && block.PoolSize * block.PoolSize > GroupRows) return $"pooling windows over {GroupRows} conv outputs";
        return null;
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p = base.Specialize(p, gpu);
        p.TilePooled = GroupRows / (p.Pool * p.Pool);
        p.TilesPerGroup = 1;
        return p;
    }

    /// <summary>One group per (16 rows, channel tile); the stage holds the 16 rows' whole patches.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        p.TilesPerGroup = 1;
        long pooled = (long)batch * p.OutH * p.OutW;
        int rowTiles = checked((int)((pooled + p.TilePooled - 1) / p.TilePooled)), tiles = p.PaddedK / 64;
        return new KernelConfig(new Index3D(rowTiles, tiles, 1), new Index3D(p.Lanes, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(GroupRows * p.RowStride / 2 + StageSlack));
    }

    static void KSplitBitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var stage64 = SharedMemory.GetDynamic<ulong>();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var bases = SharedMemory.Allocate<long>(GroupRows);
        var masks = SharedMemory.Allocate<int>(GroupRows);
        var partial = SharedMemory.Allocate<int>((MaxWarps - 1) * LaneInts * 32);
        var epilogue = new WideBitsEpilogue(p, meta, rows);
        var pairs = meta.Cast<ThresholdPair>();
        int tile = Grid.IdxY, warp = Group.IdxX >> 5, warps = Group.DimX >> 5, lane = Group.IdxX & 31;
        ulong andMask = poolAnd[tile];
        Windows(p, rows, bases, masks, GroupRows);
        Group.Barrier();
        Stage16(p, input, stage64, bases, masks);
        Group.Barrier();
        var stage = stage64.Cast<uint>();
        int s0 = warp * p.KSteps / warps, s1 = (warp + 1) * p.KSteps / warps;
        var acc = default(MmaTile8);
        acc.Pop = RowPopcounts(p, stage, s0, s1);
        ProductSteps(p, weights, stage, tile, s0, s1, ref acc);

        // Warps 1.. leave their sums in shared memory ([warp − 1][k][lane]: no bank conflicts); warp 0 adds them.
        if (warp > 0)
        {
            int at = (warp - 1) * LaneInts * 32 + lane;
            Put(partial, at, 0, acc.F0); Put(partial, at, 1, acc.F1); Put(partial, at, 2, acc.F2); Put(partial, at, 3, acc.F3);
            Put(partial, at, 4, acc.F4); Put(partial, at, 5, acc.F5); Put(partial, at, 6, acc.F6); Put(partial, at, 7, acc.F7);
            Put(partial, at, 8, acc.Pop);
        }
        Group.Barrier();
        if (warp == 0)
        {
            for (int w = 1; w < warps; w++)
            {
                int at = (w - 1) * LaneInts * 32 + lane;
                Add(partial, at, 0, ref acc.F0); Add(partial, at, 1, ref acc.F1); Add(partial, at, 2, ref acc.F2); Add(partial, at, 3, ref acc.F3);
                Add(partial, at, 4, ref acc.F4); Add(partial, at, 5, ref acc.F5); Add(partial, at, 6, ref acc.F6); Add(partial, at, 7, ref acc.F7);
                Add(partial, at, 8, ref acc.Pop);
            }
        }
        epilogue.Store(p, outWords, pairs, rows, tile, andMask, ref acc);
    }

    static void Put(ArrayView<int> partial, int at, int k, MmaAccumulator c)
    {
        int i = at + 4 * 32 * k;
        partial[i] = c.C0;
        partial[i + 32] = c.C1;
        partial[i + 64] = c.C2;
        partial[i + 96] = c.C3;
    }

    static void Add(ArrayView<int> partial, int at, int k, ref MmaAccumulator c)
    {
        int i = at + 4 * 32 * k;
        c.C0 += partial[i];
        c.C1 += partial[i + 32];
        c.C2 += partial[i + 64];
        c.C3 += partial[i + 96];
    }

    /// <summary>The 16 rows' whole patches (KSteps·4 words; zeros for padding taps, empty rows and past the patch) into
    /// the stage at <see cref="GpuTensorCoreWide"/>'s row stride: item i is row i % 16, word i / 16, each thread 8 items
    /// per round with their loads issued before the stores (one L2 round trip per round, not per word).</summary>
    static void Stage16(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, ArrayView<long> bases, ArrayView<int> masks)
    {
        int total = GroupRows * p.KSteps * 4, n = Group.DimX, stride = p.RowStride >> 1;
        for (int i = Group.IdxX; i < total; i += 8 * n)
        {
            ulong v0 = Word(p, input, bases, masks, i, total);
            ulong v1 = Word(p, input, bases, masks, i + n, total);
            ulong v2 = Word(p, input, bases, masks, i + 2 * n, total);
            ulong v3 = Word(p, input, bases, masks, i + 3 * n, total);
            ulong v4 = Word(p, input, bases, masks, i + 4 * n, total);
            ulong v5 = Word(p, input, bases, masks, i + 5 * n, total);
            ulong v6 = Word(p, input, bases, masks, i + 6 * n, total);
            ulong v7 = Word(p, input, bases, masks, i + 7 * n, total);
            Put(stage, stride, i, total, v0);
            Put(stage, stride, i + n, total, v1);
            Put(stage, stride, i + 2 * n, total, v2);
            Put(stage, stride, i + 3 * n, total, v3);
            Put(stage, stride, i + 4 * n, total, v4);
            Put(stage, stride, i + 5 * n, total, v5);
            Put(stage, stride, i + 6 * n, total, v6);
            Put(stage, stride, i + 7 * n, total, v7);
        }
    }

    /// <summary>Patch word i / 16 of row i % 16 (0 past <paramref name="total"/>).</summary>
    static ulong Word(GpuBlockParams p, ArrayView<ulong> input, ArrayView<long> bases, ArrayView<int> masks, int i, int total)
    {
        if (i >= total) return 0;
        int r = i & (GroupRows - 1), kw = i >> 4;
        int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
        int sy = kw < p.KWords ? 16 + ky : 31; // past the patch: bit 31, never set
        return Gather(input, bases, masks, r, sy, kx, (ky * p.InW + kx) * p.InWords + wd);
    }

    static void Put(ArrayView<ulong> stage, int stride, int i, int total, ulong v)
    {
        if (i < total) stage[(i & (GroupRows - 1)) * stride + (i >> 4)] = v;
    }

    /// <summary>popc(a) of this lane's rows (g, g+8) over steps [s0, s1): the MMA against an all-ones B.</summary>
    static MmaAccumulator RowPopcounts(GpuBlockParams p, ArrayView<uint> stage, int s0, int s1)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = (lane >> 2) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        var pop = default(MmaAccumulator);
        for (int u = 8 * s0; u < 8 * s1; u += 8)
            GpuMma.AndPopc(ref pop, stage[rA + u], stage[rB + u], stage[rA + u + 4], stage[rB + u + 4], ~0u, ~0u);
        return pop;
    }

    /// <summary>The group's 16 rows × 64 channels of <paramref name="tile"/> over steps [s0, s1), fragments one step ahead
    /// of their MMAs (the loads past s1 read the next step's words, the stage's slack or the weights' padding step: unused).</summary>
    static void ProductSteps(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, int tile, int s0, int s1, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = (lane >> 2) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        long w = ((long)tile * p.KSteps + s0) * 256 + lane;
        var b = Fragments8.Load(weights, w);
        var a = FragmentsA.Load(stage, rA, rB, 8 * s0);
        for (int s = s0; s < s1; s++)
        {
            var nextB = Fragments8.Load(weights, w + 256);
            var nextA = FragmentsA.Load(stage, rA, rB, 8 * s + 8);
            Mma8(a, b, ref acc);
            a = nextA;
            b = nextB;
            w += 256;
        }
    }
}
