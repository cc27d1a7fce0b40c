using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2MR128"/> (2m's kernels at 128 registers, 8 resident 64-thread groups per SM) with the
/// rows' popcounts counted by POPC on the staged words (<see cref="GpuWideRowPopcounts"/>) instead of MMAs against an
/// all-ones B: fewer instructions in each group's preamble (VGG7 b256 conv2–conv4 spend 1.4–0.7 SASS instructions per
/// product MMA in that loop, docs/results/h200-mma30). Same outputs, refusals and constants; the profiler measures it
/// beside r128 and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWide2MPopc : GpuTensorCoreWide2M
{
    public override string Name => "gpu.tensor-core-wide-2m-r128-popc";
    public override string Description => "gpu.tensor-core-wide-2m-r128 with the rows' popcounts by POPC instead of MMAs";
    protected override GpuKernelMethod Bits => BitsKernel2MPopc;
    protected override GpuKernelMethod Scores => ScoresKernel2MPopc;
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;
}
