namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide4W"/> with the rows' popcounts counted by POPC on the staged words
/// (<see cref="GpuWideRowPopcounts"/>) instead of MMAs against an all-ones B: VGG7 b256 conv6 (18 MMA steps) spent
/// ~830 of a warp's ~6,250 instructions in that loop (docs/results/h200-mma30). Same launch, outputs, refusals and
/// constants; the profiler measures it beside 4w and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWide4WPopc : GpuTensorCoreWide4W
{
    public override string Name => "gpu.tensor-core-wide-4w-popc";
    public override string Description => "gpu.tensor-core-wide-4w with the rows' popcounts by POPC instead of MMAs";
    protected override GpuKernelMethod Bits => BitsKernel4WPopc;
    protected override GpuKernelMethod Scores => ScoresKernel4WPopc;
}
