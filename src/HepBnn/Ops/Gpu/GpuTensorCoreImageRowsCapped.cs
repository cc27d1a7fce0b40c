using HepBnn.Devices;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreImageRows"/>'s kernel compiled for more resident groups per multiprocessor (.maxntid 128,
/// .minnctapersm <see cref="ResidentGroups"/> in the PTX, so ptxas caps a thread at 65536 / (128 × groups) registers),
/// with the grid sized for those groups. The uncapped kernel takes 128 registers: 4 groups (16 warps) per SM, one wave
/// in which each warp runs ~3 units of 32 rows one after the other at VGG3 b256 (6,272 units), and Nsight Compute saw
/// the SMs issue in only ~44 % of the cycles (docs/results/h200-img8): a latency chain per unit (input loads, 16 MMAs,
/// the pooled epilogue's shuffles) with too few warps to hide it. At 6 groups a warp runs 2 units with 6 warps per
/// scheduler. Same kernel body, outputs and refusals; the profiler measures it beside the uncapped one and keeps the
/// faster per block (where the cap costs spills, the uncapped). HEPBNN_IMAGE_ROWS_CAPPED_GROUPS (1–64) sets the groups,
/// for measuring.
/// </summary>
public sealed class GpuTensorCoreImageRowsCapped : GpuTensorCoreImageRows
{
    /// <summary>Resident groups of 128 threads per SM asked of ptxas and used to size the grid (default 6).</summary>
    public static int ResidentGroups => EnvironmentSwitches.ImageRowsCappedGroups;

    public override string Name => "gpu.tensor-core-image-rows-capped";
    public override string Description => "gpu.tensor-core-image-rows with registers capped for more resident groups per SM";
    protected override KernelSpecialization Specialization => new(128, ResidentGroups);
    protected override int GridGroupsPerSm => ResidentGroups;
}
