using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide4W"/> without its register cap: ptxas's own choice (2m's product took 140 registers, so 3
/// groups of 128 threads per SM, 12 warps, as many as 2m's 6 groups of 64 but 4 per stage). Measured beside the capped
/// kernel, in case the cap costs more in spills or loads in flight than the 4 more warps per SM give.
/// </summary>
public sealed class GpuTensorCoreWide4WFree : GpuTensorCoreWide4W
{
    public override string Name => "gpu.tensor-core-wide-4w-free";
    public override string Description => "gpu.tensor-core-wide-4w without the 128-register cap";
    protected override KernelSpecialization Specialization => KernelSpecialization.Empty;
    /// <summary>140 registers (2m's product; ptxas's report of this kernel in docs/results/h200-mma30): 3 groups of 4 warps.</summary>
    protected override int RegisterGroupsPerSm => 3;
}
