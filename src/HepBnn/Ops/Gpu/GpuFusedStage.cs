namespace HepBnn.Ops.Gpu;

/// <summary>How one stage of a fused kernel deals its work to threads.</summary>
public enum GpuFusedMode
{
    /// <summary>One thread per output (pooled pixel, channel slot), warps assemble half-words (as gpu.thread-per-output).</summary>
    ThreadPerOutput = 0,
    /// <summary>Dense block on bits, no pooling: one warp per (sample, channel), lanes split the words, shuffle sum; the
    /// bit is OR-ed atomically into its half-word (zeroed at kernel start, before the first grid barrier).</summary>
    WarpPerChannel = 1,
}

/// <summary>One block of a fused range as the kernel reads it from device memory: its parameters, its thread mapping
/// and where its constants and activations are. Offsets index the range's concatenated weight / meta / pool-mask arrays
/// and its intermediate activation buffer (words; a stage's input and output regions never overlap).</summary>
public struct GpuFusedStage
{
    public GpuBlockParams P;
    public int Mode;
    public int WeightOffset, WeightLength, MetaOffset, MetaLength, PoolOffset, PoolLength;
    /// <summary>Words into the activation buffer (unused for the first stage's input and the last stage's output).</summary>
    public long InOffset, OutOffset;
}
