using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary><see cref="GpuTensorCoreWide4W"/> with <see cref="GpuWideVectorFragments"/>'s product: 64-bit A and 128-bit B
/// loads (half the load instructions of the product), its weights layout and bank-free stage stride.</summary>
public class GpuTensorCoreWide4WVec : GpuTensorCoreWide4W
{
    public override string Name => "gpu.tensor-core-wide-4w-vec";
    public override string Description => "gpu.tensor-core-wide-4w with 64-bit A and 128-bit B fragment loads";
    protected override GpuKernelMethod Bits => BitsKernel4WVec;
    protected override GpuKernelMethod Scores => ScoresKernel4WVec;
    protected override bool VectorFragments => true;
}

/// <summary><see cref="GpuTensorCoreWide4WVec"/> compiled for 5 resident groups of 128 threads (.minnctapersm 5: at
/// most 96 registers, 20 warps per SM; VGG7's conv6 stage of 37 KB fits 5 in the 228 KB); ptxas's spills decide.</summary>
public sealed class GpuTensorCoreWide4WR96Vec : GpuTensorCoreWide4WVec
{
    public override string Name => "gpu.tensor-core-wide-4w-r96-vec";
    public override string Description => "gpu.tensor-core-wide-4w-vec with registers capped at 96 (5 resident groups per SM)";
    protected override KernelSpecialization Specialization => new(128, 5);
    protected override int RegisterGroupsPerSm => 5;
}
