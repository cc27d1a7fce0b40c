namespace HepBnn.Ops.Gpu;

/// <summary>How one stage of a fused kernel deals its work to threads.</summary>
public enum GpuFusedMode
{
    /// <summary>One thread per output (pooled pixel, channel slot), warps assemble half-words (as gpu.thread-per-output).</summary>
    ThreadPerOutput = 0,
    /// <summary>Dense block on bits, no pooling: one warp per (sample, channel), lanes split the words, shuffle sum; the
    /// bit is OR-ed atomically into its half-word (zeroed at kernel start, before the first grid barrier).</summary>
    WarpPerChannel = 1,
    /// <summary>Conv block on bits with bits output (not the first stage), for small batches: one warp per (sample, pooled
    /// pixel, channel); the warp's lanes are split evenly over the pooling window's conv outputs (32 / window lanes
    /// each, so the window size must divide 32) and each group of lanes splits its output's taps × words. Shuffles sum
    /// each conv output, the lanes threshold it, shuffles AND/OR the window, and the bit is OR-ed atomically into its
    /// zeroed half-word. A thread per output would load P²·kh·kw·words words one after another; here a lane loads a
    /// few, which is what small batches are bound by (memory latency, not throughput).</summary>
    WarpPerOutput = 2,
    /// <summary>Binary conv/dense block on the 1-bit tensor cores (<see cref="GpuFusedMma"/>): one warp per 16 rows ×
    /// 64 channels, reductions split over <see cref="GpuFusedStage.Split"/> warps of a group.</summary>
    TensorCore = 3,
    /// <summary>8-bit image block (the first stage) on the byte tensor cores (<see cref="GpuFusedMma"/>).</summary>
    TensorCoreImage = 4,
}

/// <summary>One block of a fused range as the kernel reads it from device memory: its parameters, its thread mapping
/// and where its constants and activations are. Offsets index the range's concatenated weight / meta / pool-mask arrays
/// and its intermediate activation buffer (words; a stage's input and output regions never overlap).</summary>
public struct GpuFusedStage
{
    public GpuBlockParams P;
    public int Mode;
    public int WeightOffset, WeightLength, MetaOffset, MetaLength, PoolOffset, PoolLength;
    /// <summary>Tensor-core stages: warps sharing one item's reduction (a power of two), and conv outputs per pooling window.</summary>
    public int Split, Window;
    /// <summary>1: the stage does no work (a measurement knob, <see cref="GpuFusedRange.SkipMask"/>: a stage's cost is the
    /// range's time with it minus without it; the output is then wrong).</summary>
    public int Skip;
    /// <summary>Words into the activation buffer (unused for the first stage's input and the last stage's output).</summary>
    public long InOffset, OutOffset;
}
