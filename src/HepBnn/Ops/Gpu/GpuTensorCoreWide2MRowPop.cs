using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2MFold"/> (2m at 128 registers, 8 groups per SM, thresholds folded into the accumulators'
/// start values) with a shorter preamble: <see cref="GpuWideGatherCount"/> gathers each row's patch from a set-up
/// table and counts the row's popcount from the words as it loads them (no table fill with divisions, no shared window
/// table, no second POPC pass over the stage); the group meets once to publish the 64 counts. Same outputs and refusals
/// as the fold kernel (the fold's set-up refusal included); scores blocks run the lean scores kernel. Why: Nsight
/// Compute on VGG7 b256 (docs/results/h200-ncu4/call1) put 42% (conv2) and 27% (conv4) of the 2m kernels' warp-stall
/// samples in the preamble; conv2, with only two 64-channel tiles per gathered patch, spends more of its instructions
/// there (~43%) than in the products. The profiler measures it beside the others and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWide2MRowPop : GpuTensorCoreWide2M
{
    public override string Name => "gpu.tensor-core-wide-2m-r128-rowpop";
    public override string Description => "gpu.tensor-core-wide-2m-r128-fold with a set-up gather table and the rows' popcounts counted while gathering";
    protected override GpuKernelMethod Bits => BitsKernel2MRowPop;
    protected override GpuKernelMethod Scores => ScoresKernel2MLean;
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;

    /// <summary>Bits blocks: the fold's constants, padded to an even length, then <see cref="GpuWideGatherCount.Table"/>
    /// (8-byte entries at the end, where the kernel finds them).</summary>
    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p)
    {
        if (block.Output != BlockOutput.Bits) return base.CreateData(gpu, block, p);
        var (fragments, meta) = GpuWideFoldThresholds.Arrays(block, ref p);
        var table = GpuWideGatherCount.Table(p);
        var all = new int[checked(((meta.Length + 1) & ~1) + table.Length)];
        meta.CopyTo(all, 0);
        table.CopyTo(all, all.Length - table.Length);
        return new GpuBlockData(gpu, block, p, (fragments, all, GpuBlockData.PoolAndWords(block)));
    }

    /// <summary>The bits kernel: rows, the counting gather, the counts shared once, then the fold kernel's tile loop.</summary>
    static void BitsKernel2MRowPop(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows), Group.DimX);
        var pops = SharedMemory.Allocate<int>(TileRows.MaxRows);
        var stage64 = SharedMemory.GetDynamic<ulong>();
        pops[Group.IdxX] = GpuWideGatherCount.Stage(p, input, stage64, meta, rows);
        Group.Barrier();
        int r = Wide2MBitsEpilogue.FirstRow();
        int c0 = pops[r], c1 = pops[r + 8], c2 = pops[r + 16], c3 = pops[r + 24];
        var popLo = new MmaAccumulator { C0 = c0, C1 = c0, C2 = c1, C3 = c1 };
        var popHi = new MmaAccumulator { C0 = c2, C1 = c2, C2 = c3, C3 = c3 };
        var stage = stage64.Cast<uint>();
        var epilogue = new Wide2MFoldEpilogue(p, meta, rows, popLo, popHi, r, Group.IdxX);
        var starts = meta.Cast<FoldPair>();
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
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
