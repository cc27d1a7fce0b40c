namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide4W"/> with fewer instructions outside the product loop: the rows' popcounts counted by
/// POPC on the staged words (<see cref="GpuWideRowPopcounts"/>) instead of MMAs against an all-ones B (VGG7 b256 conv6,
/// 18 MMA steps: ~830 of a warp's ~6,250 instructions in that loop, docs/results/h200-mma30), and each row's 8
/// threshold loads at immediate offsets from one view of the row's pairs. Same launch, outputs, refusals and constants;
/// the profiler measures it beside 4w and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWide4WLean : GpuTensorCoreWide4W
{
    public override string Name => "gpu.tensor-core-wide-4w-lean";
    public override string Description => "gpu.tensor-core-wide-4w with the rows' popcounts by POPC and row views of the thresholds";
    protected override GpuKernelMethod Bits => BitsKernel4WLean;
    protected override GpuKernelMethod Scores => ScoresKernel4WLean;
}
