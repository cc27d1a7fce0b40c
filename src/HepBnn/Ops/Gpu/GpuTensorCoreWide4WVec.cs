namespace HepBnn.Ops.Gpu;

/// <summary><see cref="GpuTensorCoreWide4W"/> with <see cref="GpuWideVectorFragments"/>'s product: 64-bit A and 128-bit B
/// loads (half the load instructions of the product), its weights layout and bank-free stage stride.</summary>
public sealed class GpuTensorCoreWide4WVec : GpuTensorCoreWide4W
{
    public override string Name => "gpu.tensor-core-wide-4w-vec";
    public override string Description => "gpu.tensor-core-wide-4w with 64-bit A and 128-bit B fragment loads";
    protected override GpuKernelMethod Bits => BitsKernel4WVec;
    protected override GpuKernelMethod Scores => ScoresKernel4WVec;
    protected override bool VectorFragments => true;
}
