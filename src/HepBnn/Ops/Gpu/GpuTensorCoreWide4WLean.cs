namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide4W"/> with fewer instructions outside the product loop: the rows' popcounts counted by
/// POPC on the staged words (<see cref="GpuWideRowPopcounts"/>) instead of MMAs against an all-ones B, and each row's 8
/// threshold loads at immediate offsets from one view of the row's pairs. Same launch, gather, outputs, refusals and
/// constants; the profiler measures it beside 4w and keeps the faster per block. On the H200 at batch 256
/// (docs/results/h200-mma31, call 1, same run): VGG7 conv6 26.1 µs against 4w's 27.2 (30.9% of the measured 1-bit MMA
/// peak), conv5 17.2 against 17.9. The row-per-thread gather of <see cref="GpuTensorCoreWide2MLean"/> made conv6
/// slower here (call 2: 29.1), so this kernel keeps the column-per-lane gather.
/// </summary>
public sealed class GpuTensorCoreWide4WLean : GpuTensorCoreWide4W
{
    public override string Name => "gpu.tensor-core-wide-4w-lean";
    public override string Description => "gpu.tensor-core-wide-4w with POPC row popcounts and row views of the thresholds";
    protected override GpuKernelMethod Bits => BitsKernel4WLean;
    protected override GpuKernelMethod Scores => ScoresKernel4WLean;
}
