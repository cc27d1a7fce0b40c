using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2M"/>'s kernels compiled for 8 resident 64-thread groups per multiprocessor (.maxntid 64,
/// .minnctapersm 8 in the PTX): ptxas then keeps a thread within 128 registers, 4 warps in each scheduler's quarter of
/// the register file instead of the 3 that 2m's 140 registers leave (Nsight Compute, docs/results/h200-mmafrac/call2:
/// conv2 and conv4 bound by registers at 12 warps per SM, no warp eligible in half of the cycles). ILGPU cannot pass
/// ptxas's -maxrregcount; these two PTX directives are its supported way. Same outputs, refusals and constants; the
/// profiler measures it beside 2m and keeps the faster per block (where the cap costs spills or loads in flight, 2m).
/// </summary>
public sealed class GpuTensorCoreWide2MR128 : GpuTensorCoreWide2M
{
    public override string Name => "gpu.tensor-core-wide-2m-r128";
    public override string Description => "gpu.tensor-core-wide-2m with registers capped at 128 (8 resident groups per SM)";
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;
}
