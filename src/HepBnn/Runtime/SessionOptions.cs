using HepBnn.Devices;

namespace HepBnn.Runtime;

/// <summary>Options of an <see cref="InferenceSession"/> (in the spirit of ONNX Runtime's SessionOptions). All init-only.</summary>
public sealed class SessionOptions
{
    /// <summary>Largest batch <see cref="InferenceSession.Run(ReadOnlySpan{byte}, int, Span{int})"/> accepts; buffers are sized for it once.
    /// With <see cref="SessionMapping.Auto"/> it is also the batch the plan is made for.</summary>
    public int MaxBatch { get; init; } = 1;
    /// <summary>CPU worker threads (default: all logical cores).</summary>
    public int? CpuThreads { get; init; }
    /// <summary>Which device plays the GPU (default: a CUDA GPU if one is usable).</summary>
    public GpuSelection Gpu { get; init; } = GpuSelection.Auto;
    /// <summary>Run each run of consecutive GPU blocks as one captured CUDA graph (null: the environment's
    /// HEPBNN_CUDA_GRAPHS, on by default). Off, or where capture is impossible, the blocks are launched one by one with the
    /// same results; <see cref="InferenceSession.GpuExecution"/> says which and why.</summary>
    public bool? CudaGraphs { get; init; }
    /// <summary>In each captured GPU segment, let every kernel launch while the one before it still runs (programmatic
    /// dependent launch, sm_90+; null: the resources' setting, HEPBNN_PDL, off by default: on the H200 it did not make
    /// batch 1 faster and made large batches slower, docs/results/h200-pdl).
    /// Same results either way; <see cref="InferenceSession.GpuExecution"/> says how many edges are programmatic.</summary>
    public bool? DependentLaunch { get; init; }
    /// <summary>How GPU segments move their input in and output out (null: HEPBNN_MAPPED_IO where set, else what the plan
    /// says — the planner measures copies against mapped host I/O for the plan it finds, <see cref="Plan.HostIo"/> — else
    /// <see cref="GpuHostIo.Copies"/>): mapped host I/O lets the kernels read/write the page-locked host buffers directly,
    /// without memcpy nodes. <see cref="GpuHostIo.Copies"/> (or HEPBNN_MAPPED_IO=0) opts out of a plan's mapped I/O.
    /// Same results; <see cref="InferenceSession.GpuExecution"/> says which is used.</summary>
    public GpuHostIo? HostIo { get; init; }
    /// <summary>How the host waits for a GPU segment's graph (null: HEPBNN_GPU_WAIT, by default <see cref="GpuWait.Word"/>:
    /// the graph's last node sets a mapped host word the host polls; on the H200 0.7–1.3 µs a run faster than the driver's
    /// synchronize, docs/results/h200-host8). Same results; a graph that cannot use the word waits with the synchronize.</summary>
    public GpuWait? GpuWait { get; init; }
    /// <summary>Run each run of consecutive CPU blocks in one parallel region (static partitions, a dependency wait
    /// between blocks) instead of one fork-join per block (null: the resources' setting, HEPBNN_CPU_REGIONS, on by
    /// default). Same results either way; `hepbnn roofline` measures both side by side.</summary>
    public bool? CpuRegions { get; init; }

    // Used by InferenceSession.Create (HepBnn.Sessions) only; the constructors take their assignment explicitly.

    /// <summary>How blocks get their configurations (default: <see cref="SessionMapping.Auto"/>).</summary>
    public SessionMapping Mapping { get; init; } = SessionMapping.Auto;
    /// <summary>Where cached plans live (default: $HEPBNN_CACHE_DIR, else $XDG_CACHE_HOME/hepbnn, else ~/.cache/hepbnn
    /// on Unix and %LOCALAPPDATA%\hepbnn on Windows).</summary>
    public string? PlanCacheDirectory { get; init; }
    /// <summary>Profile again even when a cached plan fits.</summary>
    public bool Remap { get; init; }
    /// <summary>Run on the CPU when the GPU is missing or fails while the session is set up (the reason is in
    /// <see cref="InferenceSession.MappingReport"/>); false: throw <see cref="GpuUnavailableException"/>.</summary>
    public bool CpuFallback { get; init; } = true;
    /// <summary>Seconds profiling may take for <see cref="SessionMapping.Auto"/> (spread over kernels, transfers and calibration).</summary>
    public double ProfileSeconds { get; init; } = 10;
}
