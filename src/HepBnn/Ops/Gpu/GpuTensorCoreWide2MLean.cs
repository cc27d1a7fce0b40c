using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2MR128"/> (2m's kernels at 128 registers, 8 resident 64-thread groups per SM) with fewer
/// instructions outside the product loop: the rows' popcounts counted by POPC on the staged words
/// (<see cref="GpuWideRowPopcounts"/>) instead of MMAs against an all-ones B (46 SASS instructions per step there,
/// docs/results/h200-mma30), and each row's 8 threshold loads at immediate offsets from one view of the row's pairs
/// (<see cref="Wide2MBitsEpilogue.RowBits"/>'s rowView) instead of a 64-bit index each. Same outputs, refusals and
/// constants; the profiler measures it beside r128 and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWide2MLean : GpuTensorCoreWide2M
{
    public override string Name => "gpu.tensor-core-wide-2m-r128-lean";
    public override string Description => "gpu.tensor-core-wide-2m-r128 with the rows' popcounts by POPC and row views of the thresholds";
    protected override GpuKernelMethod Bits => BitsKernel2MLean;
    protected override GpuKernelMethod Scores => ScoresKernel2MLean;
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;
}
