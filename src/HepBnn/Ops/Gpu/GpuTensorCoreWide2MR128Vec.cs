using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary><see cref="GpuTensorCoreWide2MR128"/> with <see cref="GpuWideVectorFragments"/>'s product: 64-bit A and
/// 128-bit B loads (half the load instructions of the product), its weights layout and bank-free stage stride.</summary>
public class GpuTensorCoreWide2MR128Vec : GpuTensorCoreWide2M
{
    public override string Name => "gpu.tensor-core-wide-2m-r128-vec";
    public override string Description => "gpu.tensor-core-wide-2m-r128 with 64-bit A and 128-bit B fragment loads";
    protected override GpuKernelMethod Bits => BitsKernel2MVec;
    protected override GpuKernelMethod Scores => ScoresKernel2MVec;
    protected override bool VectorFragments => true;
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;
}

/// <summary><see cref="GpuTensorCoreWide2MR128Vec"/> compiled for 9 resident groups (.minnctapersm 9: at most 112
/// registers, 18 warps per SM where VGG7's conv2–conv4 were bound by registers at 16); ptxas's spills decide.</summary>
public sealed class GpuTensorCoreWide2MR112Vec : GpuTensorCoreWide2MR128Vec
{
    public override string Name => "gpu.tensor-core-wide-2m-r112-vec";
    public override string Description => "gpu.tensor-core-wide-2m-r128-vec with registers capped at 112 (9 resident groups per SM)";
    protected override KernelSpecialization Specialization => new(64, 9);
    protected override int RegisterGroupsPerSm => 9;
}
