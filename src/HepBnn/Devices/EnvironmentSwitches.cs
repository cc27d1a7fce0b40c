namespace HepBnn.Devices;

/// <summary>The HEPBNN_* tuning variables the engine's static state reads, parsed once. Reading them never throws — hot
/// paths keep them in static readonly fields, and an exception in a static initialiser would reach a library caller as a
/// TypeInitializationException and leave the type unusable — so a bad value falls back to the default here and
/// <see cref="ThrowIfInvalid"/> (called when a session's <see cref="ExecutionResources"/> are created) reports it as one
/// <see cref="HepBnnException"/> naming the variable.</summary>
public static class EnvironmentSwitches
{
    static readonly List<string> Problems = [];

    /// <summary>HEPBNN_POOL_CANCEL (on by default): the pool's caller leaves without helpers that have not started yet.</summary>
    public static readonly bool PoolCancelLate = Switch("HEPBNN_POOL_CANCEL", true);
    /// <summary>HEPBNN_POOL_TRACE (off by default): the pool records every job's hand-off, work and join times.</summary>
    public static readonly bool PoolTrace = Switch("HEPBNN_POOL_TRACE", false);
    /// <summary>HEPBNN_POOL_FOR: how <see cref="CpuWorkerPool.For(int, IParallelWork, int)"/> hands out items — sliced
    /// (default: a contiguous slice per participant with its own claim counter, then the others' unclaimed items) or
    /// shared (one counter every participant increments per item, the earlier scheme), for A/B runs.</summary>
    public static readonly bool PoolSlicedFor = Choice("HEPBNN_POOL_FOR", "sliced or shared", ForMode, true);
    /// <summary>HEPBNN_POOL_SPIN: pause iterations (Thread.SpinWait) between two polls of a waiting pool worker or region
    /// participant, 1 to 64 (default 4; 1 measured no different on the Xeon host: docs/results/cpu-xeon-cpu6).</summary>
    public static readonly int PoolSpin = Choice("HEPBNN_POOL_SPIN", "an integer from 1 to 64", OneTo64, 4);
    /// <summary>HEPBNN_POOL_PURE_SPIN_US: µs an idle pool worker polls without yielding, 0 to 1000 (default 0: a yield
    /// every 256 pause iterations from the start; 20 measured no different on the Xeon host: docs/results/cpu-xeon-cpu6).</summary>
    public static readonly int PoolPureSpinUs = Choice("HEPBNN_POOL_PURE_SPIN_US", "an integer from 0 to 1000", ZeroTo1000, 0);
    /// <summary>HEPBNN_ALIGN (on by default): the CPU kernels' weight, table and scratch arrays start on 64-byte boundaries
    /// (<see cref="AlignedArrays"/>).</summary>
    public static readonly bool AlignArrays = Switch("HEPBNN_ALIGN", true);
    /// <summary>HEPBNN_IMAGE_ROWS (on by default): small single-channel image layers run the AVX-512 rows kernel
    /// (<c>Ops.Cpu.ImageRows512</c>) instead of the generic pixel-pair path, for A/B runs.</summary>
    public static readonly bool ImageRows = Switch("HEPBNN_IMAGE_ROWS", true);
    /// <summary>HEPBNN_PIN_WORKERS (off by default): each helper of a CPU worker pool pinned to its own CPU of the
    /// process's affinity set (<see cref="CpuAffinity"/>), for measuring whether thread placement limits many-thread blocks.</summary>
    public static readonly bool PinWorkers = Switch("HEPBNN_PIN_WORKERS", false);
    /// <summary>HEPBNN_STEAL: when a CPU region's participant takes items still unclaimed in other participants' slices
    /// (<c>Runtime.CpuSegment.Steal</c>): eager (default: as soon as its own slices are done), fixed (after waiting
    /// 10 µs for the block's last items) or adaptive (after half its own slice time, 2–10 µs).</summary>
    public static readonly StealPolicy Steal = Choice("HEPBNN_STEAL", "eager, fixed or adaptive", StealMode, StealPolicy.Eager);
    /// <summary>HEPBNN_STAGING_COPY: auto (default), plain or streaming.</summary>
    public static readonly StagingCopy.CopyMode StagingCopy = Choice("HEPBNN_STAGING_COPY", "auto, plain or streaming",
        StagingCopyMode, Devices.StagingCopy.CopyMode.Auto);
    /// <summary>HEPBNN_STAGING_THREADS: threads (the caller included) the streaming staging copy spreads over (1–64,
    /// default <see cref="Devices.StagingCopy.MaxThreads"/>), for measuring.</summary>
    public static readonly int StagingThreads = Choice("HEPBNN_STAGING_THREADS", "an integer from 1 to 64", OneTo64, Devices.StagingCopy.MaxThreads);
    /// <summary>HEPBNN_STAGING_CHUNK_KB: fixed work items of this many KB for the streaming staging copy (1–64; unset: the
    /// length spread evenly over the threads, <see cref="Devices.StagingCopy.ChunkOf"/>); 64 is the copy before issue 9.</summary>
    public static readonly int StagingChunkKb = Choice("HEPBNN_STAGING_CHUNK_KB", "an integer from 1 to 64", OneTo64, 0);
    /// <summary>HEPBNN_CONST_SHAPES (on by default; 0/off leaves them out): the profiler also measures the constant-shape
    /// twins of the small-batch tensor-core configurations (<c>Ops.Gpu.GpuConstantShapes</c>, "…-const"). On the H200 they
    /// were bit-exact in `hepbnn verify` and made VGG7 b1's found plan 1.10x faster (46.0 → 41.7 µs, docs/results/
    /// h200-session9-final), for ~16 s more profiling at batch 1 (one kernel compile per block and batch).</summary>
    public static readonly bool ConstantShapes = Switch("HEPBNN_CONST_SHAPES", true);
    /// <summary>HEPBNN_CONST_UNROLL (on by default; 0/off leaves them out): the profiler also measures the unrolled twins
    /// ("…-const-unrolled", <c>Ops.Gpu.GpuConstantShapes.Unrolled</c>), whose IR has CUDA fixed as the accelerator
    /// (<c>CudaAsm.IsSupported</c> true: the MMAs' CPU emulation gone before the loops are looked at) and its loops with
    /// constant trip counts unrolled by ILGPU's LoopUnrolling (<c>Ops.Gpu.GpuConstantKernel</c>): ILGPU's own pipeline
    /// unrolled none of them, nor did ptxas. Where HEPBNN_CONST_SHAPES is off, neither twin is measured.</summary>
    public static readonly bool ConstantUnroll = Switch("HEPBNN_CONST_UNROLL", true);
    /// <summary>HEPBNN_CONST_SHAPES set to on explicitly: `hepbnn verify` then checks every twin on every block case (each
    /// case compiles one; see <c>Ops.Gpu.GpuConstantShapes.CheckedByDefault</c>).</summary>
    public static readonly bool ConstantShapesEverywhereInVerify =
        ConstantShapes && !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("HEPBNN_CONST_SHAPES"));
    /// <summary>HEPBNN_IMAGE_ROWS_GROUPS_PER_SM: groups per SM that gpu.tensor-core-image-rows sizes its grid for
    /// (1–64, default 4), for measuring other grid sizes.</summary>
    public static readonly int ImageRowsGroupsPerSm = Choice("HEPBNN_IMAGE_ROWS_GROUPS_PER_SM", "an integer from 1 to 64", GroupsPerSm, 4);
    /// <summary>HEPBNN_GATED_LAUNCH: auto (default: off, <see cref="GpuLaunchGate.AutoGates"/>), on (spin kernel), memop
    /// (driver wait) or off — whether the first GPU segment's graph is launched before the
    /// staging copy and waits for it on the GPU (<see cref="GpuLaunchGate"/>).</summary>
    public static readonly GpuLaunchGate.GateMode GatedLaunch = Choice("HEPBNN_GATED_LAUNCH", "auto, on/1, memop or off/0",
        GateModeOf, GpuLaunchGate.GateMode.Auto);
    /// <summary>HEPBNN_GPU_WAIT: how the host waits for a launched CUDA graph (<see cref="GpuWait"/>) — sync
    /// (cuStreamSynchronize), query (polling cuStreamQuery) or word (polling a mapped host word the graph's last node sets).</summary>
    public static readonly GpuWait GpuWait = Choice("HEPBNN_GPU_WAIT", "sync, query or word", GpuWaitOf, DefaultGpuWait);
    /// <summary>What HEPBNN_GPU_WAIT is when unset: the word, measured faster than the synchronize on the H200 (one-kernel
    /// graph 5.67 vs 6.42 µs interleaved in one process; docs/results/h200-host8).</summary>
    public const GpuWait DefaultGpuWait = Devices.GpuWait.Word;
    /// <summary>HEPBNN_HOST_TIMING (off by default): sessions record when each run stages its input, launches its first
    /// graph, sees it complete and returns (<see cref="HostPathTiming"/>; `hepbnn run` prints the medians).</summary>
    public static readonly bool HostTiming = Switch("HEPBNN_HOST_TIMING", false);
    /// <summary>HEPBNN_FUSED_PAIR (on by default): a gpu.fused range of a dense bits block and a dense scores block runs as
    /// one tensor-core kernel (<c>Ops.Gpu.GpuTensorCoreDensePair</c>) instead of the grid-barrier kernel.</summary>
    public static readonly bool FusedDensePairs = Switch("HEPBNN_FUSED_PAIR", true);
    /// <summary>HEPBNN_FUSED_GEMV (on by default): the registry's gpu.fused runs a dense pair prepared for at most 16 samples
    /// as one GEMV kernel (<c>Ops.Gpu.GpuGemvPair</c>) instead of the tensor-core pair; 0 for A/B runs.</summary>
    public static readonly bool FusedGemvPairs = Switch("HEPBNN_FUSED_GEMV", true);
    /// <summary>HEPBNN_PAIR_STORE: staged (default: a dense pair's scores leave as one coalesced run per row tile) or direct
    /// (each lane stores its own), for A/B runs.</summary>
    public static readonly bool StagedPairScores = Choice("HEPBNN_PAIR_STORE", "staged or direct",
        v => v == "staged" ? true : v == "direct" ? false : (bool?)null, true);
    /// <summary>HEPBNN_PAIR_PROBE: 0 (default), or for measuring only (results WRONG) 1 = a dense pair's first block alone,
    /// 2 = the first block and the per-row-tile count without the scores.</summary>
    public static readonly int DensePairProbe = Choice("HEPBNN_PAIR_PROBE", "0, 1 or 2", v => v is "0" or "1" or "2" ? v[0] - '0' : (int?)null, 0);

    /// <summary>An on/off variable's value: unset → <paramref name="fallback"/>; 1/on/true; 0/off/false; anything else is
    /// recorded as a problem and gives <paramref name="fallback"/>.</summary>
    static bool Switch(string name, bool fallback) => Choice(name, "1/on/true or 0/off/false", OnOff, fallback);

    static T Choice<T>(string name, string allowed, Func<string, T?> parse, T fallback) where T : struct =>
        Read(name, Environment.GetEnvironmentVariable(name), allowed, parse, fallback, Problems);

    /// <summary>Parses <paramref name="raw"/> (trimmed, any case); a bad value adds a line to <paramref name="problems"/>
    /// and gives <paramref name="fallback"/>.</summary>
    internal static T Read<T>(string name, string? raw, string allowed, Func<string, T?> parse, T fallback, List<string> problems) where T : struct
    {
        string value = raw?.Trim().ToLowerInvariant() ?? "";
        if (value.Length == 0) return fallback;
        if (parse(value) is { } parsed) return parsed;
        lock (problems) problems.Add($"{name} must be {allowed} (got '{raw}')");
        return fallback;
    }

    internal static bool? OnOff(string v) => v switch { "1" or "on" or "true" => true, "0" or "off" or "false" => false, _ => null };

    internal static StagingCopy.CopyMode? StagingCopyMode(string v) => v switch
    {
        "auto" => Devices.StagingCopy.CopyMode.Auto,
        "plain" => Devices.StagingCopy.CopyMode.Plain,
        "streaming" => Devices.StagingCopy.CopyMode.Streaming,
        _ => null,
    };

    internal static GpuLaunchGate.GateMode? GateModeOf(string v) => v == "auto" ? GpuLaunchGate.GateMode.Auto
        : v == "memop" ? GpuLaunchGate.GateMode.Memop
        : OnOff(v) is { } on ? (on ? GpuLaunchGate.GateMode.On : GpuLaunchGate.GateMode.Off) : null;

    internal static GpuWait? GpuWaitOf(string v) => v switch
    {
        "sync" => Devices.GpuWait.Sync, "query" => Devices.GpuWait.Query, "word" => Devices.GpuWait.Word, _ => null,
    };

    internal static StealPolicy? StealMode(string v) => v switch
    {
        "eager" => StealPolicy.Eager, "fixed" => StealPolicy.Fixed, "adaptive" => StealPolicy.Adaptive, _ => null,
    };

    internal static int? OneTo64(string v) => GroupsPerSm(v);

    internal static bool? ForMode(string v) => v switch { "sliced" => true, "shared" => false, _ => null };

    internal static int? ZeroTo1000(string v) => int.TryParse(v, out int n) && n is >= 0 and <= 1000 ? n : null;

    internal static int? GroupsPerSm(string v) => int.TryParse(v, out int n) && n is >= 1 and <= 64 ? n : null;

    /// <summary>The bad values found, one line each (empty when every variable is unset or valid).</summary>
    public static IReadOnlyList<string> Invalid { get { lock (Problems) return [.. Problems]; } }

    /// <summary>Throws one <see cref="HepBnnException"/> naming every variable with a bad value.</summary>
    public static void ThrowIfInvalid() => ThrowIfAny(Invalid);

    internal static void ThrowIfAny(IReadOnlyList<string> bad)
    {
        if (bad.Count > 0) throw new HepBnnException(string.Join("; ", bad));
    }
}

/// <summary>When a participant of a CPU region takes items still unclaimed in other participants' static slices
/// (HEPBNN_STEAL). Eager: right after its own slices, so that on a machine whose cores run at different speeds (the Xeon
/// host's busy vCPUs, some at half speed) the fast ones take the slow ones' last items. Fixed: after waiting 10 µs for
/// the block's last items. Adaptive: after half its own slice time (2–10 µs).</summary>
public enum StealPolicy { Eager, Fixed, Adaptive }
