using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2MLean"/> (row gather, POPC row popcounts, 128 registers, 8 groups per SM) with the
/// thresholds folded into the accumulators' start values (<see cref="GpuWideFoldThresholds"/>,
/// <see cref="Wide2MFoldEpilogue"/>): each output bit is one signed compare of its accumulator with half the row's
/// popcount, the accumulators start from 8-byte loads instead of zeros, and the weights of channels that fire below a
/// count are complemented at set-up (so every channel compares the same way). Scores blocks run the lean scores kernel
/// with the plain weights. Same outputs and refusals as the lean kernel, plus one set-up refusal (a HepBnnException)
/// for threshold ranges bounded on both sides, which BatchNorm thresholds never give. The profiler measures it beside
/// the others and keeps the faster per block. On the H200 at batch 256 (docs/results/h200-mma32, two calls, same runs):
/// the tile loop's SASS fell from 689 to 541 instructions per warp and tile, yet VGG7 conv2/conv3/conv4 ran
/// 45.0/19.9/28.6 and 44.8/20.0/28.7 µs against the lean kernel's 45.2/19.9/28.3 and 44.9/20.0/28.5 — the same within
/// noise: these kernels wait (on loads, barriers), they are not bound by issue slots. The same fold on 4w-lean ran
/// 3–7% slower on conv5/conv6 in both calls and was dropped.
/// </summary>
public sealed class GpuTensorCoreWide2MFold : GpuTensorCoreWide2M
{
    public override string Name => "gpu.tensor-core-wide-2m-r128-fold";
    public override string Description => "gpu.tensor-core-wide-2m-r128-lean with the thresholds folded into the accumulators' start values";
    protected override GpuKernelMethod Bits => BitsKernel2MFold;
    protected override GpuKernelMethod Scores => ScoresKernel2MLean;
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;

    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p) =>
        block.Output == BlockOutput.Bits ? GpuWideFoldThresholds.Data(gpu, block, p) : base.CreateData(gpu, block, p);

    /// <summary>The fold bits kernel: the lean preamble, then per tile the accumulators from their start values, the
    /// product, and <see cref="Wide2MFoldEpilogue.Store"/>.</summary>
    static void BitsKernel2MFold(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows), Group.DimX);
        var stage = Start(p, input, rows, out var popLo, out var popHi, lean: true);
        var epilogue = new Wide2MFoldEpilogue(p, meta, rows, popLo, popHi, Wide2MBitsEpilogue.FirstRow(), Group.IdxX);
        var starts = meta.Cast<FoldPair>();
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first), r = Wide2MBitsEpilogue.FirstRow();
        for (int tile = first; tile < end; tile++)
        {
            epilogue.Start(starts, tile, out var lo, out var hi);
            Product(p, weights, stage, tile, r, ref lo, ref hi);
            ulong andMask = poolAnd[tile]; // after the product: not live through it
            if (tile > first) Group.Barrier(); // the previous tile's pooling has read the rows' bits
            epilogue.Store(p, outWords, rows, tile, andMask, ref lo, ref hi);
        }
    }
}
