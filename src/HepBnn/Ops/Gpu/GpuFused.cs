using HepBnn.Devices;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Blocks fused into one kernel launch per run of consecutive blocks (<see cref="GpuFusedRange"/>): stages separated by a
/// grid-wide barrier instead of kernel boundaries, so a GPU segment costs one launch whatever its length. As a
/// per-block configuration it is the range of that one block; a session runs consecutive blocks planned as
/// <c>gpu.fused</c> as ONE range, and the planner prices such a range by its own measurement (not a sum of blocks).
/// </summary>
public sealed class GpuFused(bool? tensorCoreStages = null, bool densePairs = true, bool? stagedPairScores = null) : IKernelConfiguration
{
    public const string ConfigurationName = "gpu.fused";

    /// <summary>true: stages on the tensor cores where a block allows it (<see cref="GpuFusedMma"/>); false: SIMT stages only;
    /// null (the registry's instance): per range, <see cref="GpuFusedMma.Pays"/>. <c>HEPBNN_FUSED_MMA=1</c> / <c>0</c>
    /// force one kind for the registry's instance (to compare both in one machine's runs).</summary>
    public bool? TensorCoreStages { get; } = tensorCoreStages ?? Environment.GetEnvironmentVariable("HEPBNN_FUSED_MMA") switch
    {
        "1" => true,
        "0" => false,
        _ => null,
    };

    public string Name => ConfigurationName;
    public DeviceKind Device => DeviceKind.Gpu;
    public string Description => "consecutive GPU blocks in one kernel launch, stages separated by a grid-wide barrier";
    /// <summary>Image blocks with per-channel divisors need the 64-bit per-channel epilogue, which the fused stages do not
    /// have (the merge of the two features came last): those blocks run on another configuration.</summary>
    public bool Supports(Block block) => !block.HasChannelSums;

    public IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources) => PrepareRange([block], maxBatch, resources);

    /// <summary>Whether a range of a dense bits block and a dense scores block with tensor-core stages runs as ONE
    /// tensor-core kernel (<see cref="GpuTensorCoreDensePair"/>: no grid barrier, the last group of a row tile computes the
    /// scores) instead of the grid-barrier kernel; <c>HEPBNN_FUSED_PAIR=0</c> turns it off (measuring).</summary>
    public bool DensePairs { get; } = densePairs && EnvironmentSwitches.FusedDensePairs;

    /// <summary>Whether a dense pair prepared for at most <see cref="GpuGemvPair.MaxBatch"/> samples runs as one GEMV kernel
    /// (<see cref="GpuGemvPair"/>) where <see cref="TensorCoreStages"/> is left to this class; <c>HEPBNN_FUSED_GEMV=0</c> turns it off.</summary>
    public bool GemvPairs { get; } = EnvironmentSwitches.FusedGemvPairs;

    static readonly GpuTensorCoreDensePair Pair = new();

    /// <summary>One runner for blocks <paramref name="blocks"/> (consecutive, in network order).</summary>
    public IBlockRunner PrepareRange(IReadOnlyList<Block> blocks, int maxBatch, ExecutionResources resources)
    {
        var gpu = resources.RequireGpu();
        // At small batch a dense pair is a GEMV pair (one kernel, no tensor-core tile of 64 rows for 1..16 samples): only
        // where the range's stage kind is decided here, so a GpuFused asked for tensor-core stages keeps the tensor-core pair.
        if (TensorCoreStages is null && DensePairs && GemvPairs && GpuGemvPair.Takes(blocks, maxBatch)) return GpuGemvPair.PrepareRange(this, gpu, blocks, maxBatch);
        bool mma = TensorCoreStages ?? GpuFusedMma.Pays(blocks, maxBatch);
        if (mma && DensePairs && GpuTensorCoreDensePair.RangeRefusal(blocks) is null) return Pair.PrepareRange(this, gpu, blocks, maxBatch, stagedPairScores);
        return new GpuFusedRange(this, gpu, blocks, maxBatch, mma);
    }

    public static bool Is(IKernelConfiguration c) => c.Name.Equals(ConfigurationName, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Name;
}
