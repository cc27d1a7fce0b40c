using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide4WLean"/> (4 warps per staged patch, two channel tiles at once, POPC row popcounts, 128
/// registers) with the thresholds folded into the accumulators' start values as in <see cref="GpuTensorCoreWide2MFold"/>
/// (<see cref="GpuWideFoldThresholds"/>, <see cref="Wide2MFoldEpilogue.Store4W"/>): one signed compare per output bit,
/// complemented weights for the channels that fire below a count. Scores blocks run the lean scores kernel with the
/// plain weights. For the blocks where 4w-lean is the fastest (VGG7's conv5 and conv6 at batch 256); the profiler
/// measures it beside the others and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWide4WFold : GpuTensorCoreWide4W
{
    public override string Name => "gpu.tensor-core-wide-4w-fold";
    public override string Description => "gpu.tensor-core-wide-4w-lean with the thresholds folded into the accumulators' start values";
    protected override GpuKernelMethod Bits => BitsKernel4WFold;
    protected override GpuKernelMethod Scores => ScoresKernel4WLean;

    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p) =>
        block.Output == BlockOutput.Bits ? GpuWideFoldThresholds.Data(gpu, block, p) : base.CreateData(gpu, block, p);

    /// <summary>4w-lean's bits kernel with the fold epilogue: per pair of tiles the accumulators from their start values
    /// (an idle half those of the pair's first tile, its bits dropped), the product, the store.</summary>
    static void BitsKernel4WFold(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(2 * TileRows.MaxRows), TileRows.MaxRows);
        var stage = Start(p, input, rows, out var popLo, out var popHi, lean: true);
        int r = Wide4WBitsEpilogue.FirstRow();
        var epilogue = new Wide2MFoldEpilogue(p, meta, rows, popLo, popHi, r, Group.IdxX & 63);
        var starts = meta.Cast<FoldPair>();
        int half = Group.IdxX >> 6, halves = Group.DimX >> 6, first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        for (int pair = first; pair < end; pair += halves)
        {
            int tile = pair + half; // warp-uniform: warps 0–1 the pair's first tile, 2–3 its second
            int work = tile < end ? tile : pair; // no branch on the thread index around the MMAs (see GpuTensorCoreWide4W)
            epilogue.Start(starts, work, out var lo, out var hi);
            Product(p, weights, stage, work, r, ref lo, ref hi);
            if (pair > first) Group.Barrier(); // the previous pair's pooling has read the rows' bits
            epilogue.Store4W(p, outWords, poolAnd, rows, tile, end, ref lo, ref hi);
        }
    }
}
