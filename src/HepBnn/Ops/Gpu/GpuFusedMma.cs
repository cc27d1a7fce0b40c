using HepBnn.Ops.Cpu;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Tensor-core stages of a fused range (<see cref="GpuFusedMode.TensorCore"/>, <see cref="GpuFusedMode.TensorCoreImage"/>):
/// the implicit GEMM of <see cref="GpuTensorCore"/> (1-bit <c>mma m16n8k256 .and.popc</c>, the byte MMA for an 8-bit first
/// layer; the same B fragments and threshold tables, prepared by that class's code) cut for latency instead of throughput.
/// A work item is one WARP's 16 rows × 64 channels (rows = whole pooling windows of consecutive pooled outputs, as there);
/// each lane loads its A fragments straight from global memory (no shared staging, no group barrier per chunk), one
/// 256-bit step ahead of its MMAs. Long reductions are split over <c>Split</c> warps of a group, whose partial sums meet
/// in shared memory (one group barrier each way). The epilogue is in registers: thresholds → bits, OR over the row's 4
/// lanes and AND/OR over the pooling window with shuffles (windows of 1, 4 or 16 conv outputs), one 64-bit word per
/// pooled output. popc(a) of a row is summed from the lanes' own fragments (not a ninth MMA).
/// </summary>
public static partial class GpuFusedMma
{
    /// <summary>Rows per work item (one m16 tile) and most warps per group (the shared partial sums are sized for them).</summary>
    public const int Rows = 16, MaxWarps = 8;
    /// <summary>Ints of one warp's partial sums: 8 tiles × 4 accumulators + the two rows' popc(a), per lane.</summary>
    public const int PartialInts = 34 * 32;

    /// <summary>Why a block cannot be a tensor-core stage (null: it can): <see cref="GpuTensorCore"/>'s refusals, and
    /// pooling windows that the register epilogue cannot combine (only 1, 4 or 16 conv outputs).</summary>
    public static string? Refusal(Block b)
    {
        if (new GpuTensorCore().Refusal(b) is { } why) return why;
        int window = b.HasPool ? b.PoolSize * b.PoolSize : 1;
        if (window != 1 && window != 4 && window != 16) return $"pooling window of {window} conv outputs (the fused MMA epilogue combines 1, 4 or 16)";
        return null;
    }

    /// <summary>Longest serial chain of a SIMT stage's thread for this block: the loads of one output's reduction over its
    /// pooling window (kh·kw·words, or kh·kw·channels for an 8-bit image, times the window).</summary>
    public static long SimtChain(Block b) =>
        (long)b.KernelH * b.KernelW * (b.Input == BlockInput.Image ? b.InputShape.C : b.InputWords) * Window(b);

    /// <summary>Whether tensor-core stages pay for a range (the default kind of the registry's gpu.fused), from the H200
    /// runs of docs/results/h200-fused-mma: a tensor-core stage costs about 7 µs at batch 1 whatever its size (latency:
    /// the dependent loads of its warp items and epilogue), a SIMT stage 3–9 µs for VGG3's blocks (chains ≤ 49 loads) but
    /// 20–39 µs for VGG7's convs (chains of 72–288). So: tensor cores at batch ≥ 2 (VGG3 b16 whole network 52.6 µs vs
    /// 117.5, VGG7 b16 154.5 vs 911.2) or when a block's SIMT chain exceeds 64 loads (VGG7 b1 92.0 vs 141.1); SIMT stages
    /// for short chains at batch 1 (VGG3 b1: 34.7 µs SIMT-only kernel vs 42.9).</summary>
    public static bool Pays(IReadOnlyList<Block> blocks, int maxBatch) =>
        maxBatch > 1 || blocks.Any(b => Refusal(b) is null && SimtChain(b) > 64);

    /// <summary>The stage's parameters (tensor-core layout of the tables), B fragments, tables and pooling masks.</summary>
    internal static (GpuBlockParams P, ulong[] Weights, int[] Meta, ulong[] Pool) Prepare(Block block)
    {
        var p = GpuTensorCore.WithSteps(GpuBlockParams.From(block));
        var tables = new CpuBlockData(block, 0, 0);
        p = GpuTensorCore.WithOffsets(p, tables);
        var meta = GpuTensorCore.Meta(block, p, tables);
        if (block.Input == BlockInput.Image)
        {
            p.ImageWeightOffset = meta.Length;
            meta = [.. meta, .. GpuTensorCoreImage.Taps(block, p)];
        }
        var weights = block.Input == BlockInput.Image ? GpuTensorCoreImage.Fragments(block, p) : GpuTensorCore.Fragments(block.PackedWeights!, block.OutChannels, p);
        return (p, weights, meta, GpuBlockData.PoolAndWords(block));
    }

    /// <summary>Conv outputs per pooling window (1 without pooling).</summary>
    public static int Window(Block b) => b.HasPool ? b.PoolSize * b.PoolSize : 1;

    /// <summary>Warp work items (16-row tile × 64-channel tile) of a stage at <paramref name="batch"/>.</summary>
    public static long Items(GpuBlockParams p, int window, int batch) =>
        ((long)batch * p.OutH * p.OutW * window + Rows - 1) / Rows * (p.PaddedK / 64);

    /// <summary>256-bit steps each warp of a split reduction keeps at least (it loads one step ahead of its MMAs);
    /// <c>HEPBNN_FUSED_STEPS</c> overrides it for tuning on a GPU machine.</summary>
    public static int StepsPerWarp { get; } = int.TryParse(Environment.GetEnvironmentVariable("HEPBNN_FUSED_STEPS"), out int v) && v is >= 1 and <= 64 ? v : 2;

    /// <summary>Warps sharing one item's reduction: a power of two ≤ the group's warps while each keeps
    /// ≥ <see cref="StepsPerWarp"/> steps, and smaller where the items alone fill the grid.</summary>
    public static int SplitOf(GpuBlockParams p, int window, int maxBatch, int warpsPerGroup, long maxGroups)
    {
        int split = 1;
        while (split * 2 <= warpsPerGroup && (p.KSteps + 2 * split - 1) / (2 * split) >= StepsPerWarp) split *= 2;
        long items = Items(p, window, maxBatch);
        while (split > 1 && items * split > maxGroups * warpsPerGroup) split /= 2;
        return split;
    }
}
