using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2M"/>'s warp product (32 rows × 64 channels, each weight fragment feeding two MMAs) with
/// 4 warps per staged patch instead of 2: warps 0–1 compute one channel tile of the group's 64 rows and warps 2–3 the
/// next, from the same stage. Twice the warps per byte of shared memory (VGG7's conv6: 37 KB per stage held 5 groups of
/// 2 warps, 10 per SM, 0.78 waves; Nsight Compute, docs/results/h200-mmafrac/call2, found no warp ready in 70% of its
/// cycles) and each thread gathers half as many patch words (16 rows, not 32). Compiled for 4 resident groups of 128
/// threads per SM (.maxntid 128, .minnctapersm 4: at most 128 registers), so the 16 warps fit the register file where
/// 2m's 140 registers held 12. Where a group holds only 64 threads (ILGPU's default CPU accelerator) the one warp pair
/// computes the tiles in turn. Same stage, rows, weights, thresholds and refusals as the wide kernel (it derives from
/// it); the tiles of a group go in pairs (the second warp pair recomputing the pair's first tile and storing nothing for
/// the last tile of an odd count). On the H200 at batch 256 the profiler keeps it for VGG7's conv5 and conv6
/// (docs/results/h200-mma30: 18.1 and 27.3 µs, 2m 19.0 and 28.6 in the same run).
/// </summary>
public class GpuTensorCoreWide4W : GpuTensorCoreWide
{
    public override string Name => "gpu.tensor-core-wide-4w";
    public override string Description => "gpu.tensor-core-wide-2m's warp product, 4 warps per staged patch computing two channel tiles at once";
    protected override GpuKernelMethod Bits => BitsKernel4W;
    protected override GpuKernelMethod Scores => ScoresKernel4W;
    protected override KernelSpecialization Specialization => new(Threads, GroupsBySpecialization);
    protected override int RegisterGroupsPerSm => GroupsBySpecialization;
    protected override double GatherTiles => 1.0;

    const int Threads = 128, GroupsBySpecialization = 4;

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu) =>
        GpuTensorCore.WithWarps(base.Specialize(p, gpu), gpu, 4, 16); // 128 threads, 64 rows: one thread per row and tile half

    /// <summary>Tiles per group in whole rounds of the group's halves (2 on a GPU: a pair of tiles takes one tile-time on
    /// 4 warps; 1 where a group holds only 64 threads, as on ILGPU's default CPU accelerator), the rounds' count chosen as
    /// the wide kernels choose tiles. On the CPU accelerator two rounds, so the tests cover a group looping over rounds,
    /// one starting past tile 0 and, with 4 warps, an idle second half.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        long pooled = (long)batch * p.OutH * p.OutW;
        int halves = p.Lanes / 64, rounds = (p.PaddedK / 64 + halves - 1) / halves;
        int rowTiles = checked((int)((pooled + p.TilePooled - 1) / p.TilePooled));
        int per = gpu.Accelerator.AcceleratorType == AcceleratorType.Cuda
            ? TilesPerGroup(rowTiles, rounds, GroupsPerSm(p.RowStride, RegisterGroupsPerSm) * gpu.Accelerator.NumMultiprocessors, GatherTiles)
            : Math.Min(2, rounds);
        p.TilesPerGroup = halves * per;
        return new KernelConfig(new Index3D(rowTiles, (rounds + per - 1) / per, 1), new Index3D(p.Lanes, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(TileRows.MaxRows * p.RowStride / 2 + StageSlack));
    }

    static void BitsKernel4W(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        BitsBody(p, input, outWords, weights, meta, poolAnd, lean: false);
    }

    static void ScoresKernel4W(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        ScoresBody(p, input, outScores, weights, meta, lean: false);
    }

    /// <summary>The lean bits kernel: the rows' popcounts by POPC (<see cref="GpuWideRowPopcounts"/>) and the
    /// thresholds read at immediate offsets from a view of each row's pairs; for
    /// <see cref="GpuTensorCoreWide4WLean"/>.</summary>
    private protected static void BitsKernel4WLean(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        BitsBody(p, input, outWords, weights, meta, poolAnd, lean: true);
    }

    /// <summary>The lean scores kernel: the rows' popcounts by POPC.</summary>
    private protected static void ScoresKernel4WLean(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        ScoresBody(p, input, outScores, weights, meta, lean: true);
    }

    static void BitsBody(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<ulong> weights,
        ArrayView<int> meta, ArrayView<ulong> poolAnd, bool lean)
    {
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(2 * TileRows.MaxRows), TileRows.MaxRows);
        var epilogue = new Wide4WBitsEpilogue(p, meta, rows);
        var pairs = meta.Cast<ThresholdPair>();
        var stage = Start(p, input, rows, out var popLo, out var popHi, lean);
        int half = Group.IdxX >> 6, halves = Group.DimX >> 6, first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        for (int pair = first; pair < end; pair += halves)
        {
            int tile = pair + half; // warp-uniform: warps 0–1 the pair's first tile, 2–3 its second
            var lo = default(MmaTile8);
            var hi = default(MmaTile8);
            lo.Pop = popLo;
            hi.Pop = popHi;
            // An idle half (past the last tile of an odd count) computes the pair's first tile again and stores nothing:
            // no branch on the thread index around the MMAs and shuffles, which ptxas cannot prove warp-uniform (call 2's
            // SASS of docs/results/h200-mma30: a WARPSYNC before each MMA of the product loop, 4.3 instructions per MMA
            // against 2m's 3.3).
            int work = tile < end ? tile : pair;
            Product(p, weights, stage, work, Wide4WBitsEpilogue.FirstRow(), ref lo, ref hi);
            if (pair > first) Group.Barrier(); // the previous pair's pooling has read the rows' bits
            epilogue.Store(p, outWords, pairs, poolAnd, rows, tile, work, end, ref lo, ref hi, rowView: lean);
        }
    }

    static void ScoresBody(GpuBlockParams p, ArrayView<ulong> input, ArrayView<int> outScores, ArrayView<ulong> weights,
        ArrayView<int> meta, bool lean)
    {
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(2 * TileRows.MaxRows), TileRows.MaxRows);
        var stage = Start(p, input, rows, out var popLo, out var popHi, lean);
        int r = Wide4WBitsEpilogue.FirstRow(), t = Group.IdxX & 3, half = Group.IdxX >> 6, halves = Group.DimX >> 6;
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        for (int tile = first + half; tile < end; tile += halves)
        {
            var lo = default(MmaTile8);
            var hi = default(MmaTile8);
            Product(p, weights, stage, tile, r, ref lo, ref hi);
            int k = tile * 64 + 2 * t;
            GpuTensorCoreWide2M.TileScores(p, outScores, meta, rows, r, popLo, k, ref lo);
            GpuTensorCoreWide2M.TileScores(p, outScores, meta, rows, r + 16, popHi, k, ref hi);
        }
    }

    /// <summary>The group's preamble: windows of the 64 rows, their patches gathered by all 128 threads (16 rows each, as
    /// in the wide kernel; 32 each, as in 2m, in a group of 64), the popcounts of this lane's rows in both m16 tiles
    /// (<paramref name="lean"/>, a constant per kernel: by POPC, else by MMAs). The lean kernel keeps this gather, not
    /// <see cref="GpuWideRowGather"/>: with it VGG7's conv6 (8 words per tap) ran 29.1 µs against 26.1
    /// (docs/results/h200-mma31, calls 2 and 1).</summary>
    static ArrayView<uint> Start(GpuBlockParams p, ArrayView<ulong> input, TileRows rows, out MmaAccumulator popLo, out MmaAccumulator popHi, bool lean)
    {
        var stage64 = SharedMemory.GetDynamic<ulong>();
        var bases = SharedMemory.Allocate<long>(TileRows.MaxRows);
        var masks = SharedMemory.Allocate<int>(TileRows.MaxRows);
        Windows(p, rows, bases, masks, TileRows.MaxRows);
        Group.Barrier();
        if (Group.DimX >= Threads) StagePatches(p, input, stage64, bases, masks);
        else GpuTensorCoreWide2M.StagePatches32(p, input, stage64, bases, masks);
        Group.Barrier();
        var stage = stage64.Cast<uint>();
        if (lean) GpuWideRowPopcounts.Count(p, stage, Wide4WBitsEpilogue.FirstRow(), out popLo, out popHi);
        else GpuTensorCoreWide2M.RowPopcounts(p, stage, Wide4WBitsEpilogue.FirstRow(), out popLo, out popHi);
        return stage;
    }

    static void Product(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, int tile, int firstRow, ref MmaTile8 lo, ref MmaTile8 hi) =>
        GpuTensorCoreWide2M.Product(p, weights, stage, tile, firstRow, ref lo, ref hi);
}
