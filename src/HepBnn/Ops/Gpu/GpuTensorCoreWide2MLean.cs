using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2MR128"/> (2m's kernels at 128 registers, 8 resident 64-thread groups per SM) with fewer
/// instructions outside the product loop: the patches gathered a row per thread (<see cref="GpuWideRowGather"/>: no
/// shared-memory row table per word, no idle lanes when a patch is not a multiple of 32 words), the rows' popcounts
/// counted by POPC on the staged words (<see cref="GpuWideRowPopcounts"/>) instead of MMAs against an all-ones B, and
/// each row's 8 threshold loads at immediate offsets from one view of the row's pairs
/// (<see cref="Wide2MBitsEpilogue.RowBits"/>'s rowView). Same outputs, refusals and constants; the profiler measures it
/// beside r128 and keeps the faster per block. On the H200 at batch 256 (docs/results/h200-mma31, call 2, same run):
/// VGG7 conv2/conv3/conv4 45.2/20.0/28.6 µs against r128's 48.5/21.3/29.7; slower where a tap is 8 words (conv6 32.8
/// against 30.2), which stays on <see cref="GpuTensorCoreWide4WLean"/>.
/// </summary>
public sealed class GpuTensorCoreWide2MLean : GpuTensorCoreWide2M
{
    public override string Name => "gpu.tensor-core-wide-2m-r128-lean";
    public override string Description => "gpu.tensor-core-wide-2m-r128 with a row-per-thread gather, POPC row popcounts and row views of the thresholds";
    protected override GpuKernelMethod Bits => BitsKernel2MLean;
    protected override GpuKernelMethod Scores => ScoresKernel2MLean;
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;
}
