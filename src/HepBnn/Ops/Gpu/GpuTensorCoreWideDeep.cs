namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide"/> with the product's A and B fragments loaded two steps ahead of their MMAs instead of
/// one: for blocks with long patches (VGG7's conv4–conv6), whose warps waited on the weights' L2 loads, at the price of
/// 16 more registers per thread (fewer resident groups where shared memory would allow more). The profiler measures
/// both and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWideDeep : GpuTensorCoreWide
{
    public override string Name => "gpu.tensor-core-wide-deep";
    public override string Description => "gpu.tensor-core-wide with the MMA fragments loaded two steps ahead (long patches)";
    protected override GpuKernelMethod Bits => BitsKernelDeep;
    protected override GpuKernelMethod Scores => ScoresKernelDeep;
    /// <summary>100 registers per thread (ptxas on sm_90; allocated per warp in 256s, 104): 4 groups of 128 threads in the
    /// 64K (Nsight Compute, docs/results/h200-mma-b256/call2: theoretical occupancy 25%).</summary>
    protected override int RegisterGroupsPerSm => 4;
}
