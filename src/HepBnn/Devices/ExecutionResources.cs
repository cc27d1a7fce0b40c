namespace HepBnn.Devices;

/// <summary>Long-lived execution resources shared by the runners of one session: the CPU worker pool
/// (never re-created per call) and, when present, the GPU (opened on first use). Also the one place that allocates
/// device buffers and moves data between devices.</summary>
public sealed class ExecutionResources : IDisposable
{
    GpuDevice? _gpu;
    bool _gpuOpened;
    string? _gpuProblem;

    public CpuWorkerPool CpuWorkers { get; }
    public GpuSelection GpuSelection { get; }

    public ExecutionResources(int? cpuThreads = null, GpuSelection gpu = GpuSelection.Auto, bool? cudaGraphs = null, bool? dependentLaunch = null)
    {
        EnvironmentSwitches.ThrowIfInvalid();
        CpuWorkers = new CpuWorkerPool(cpuThreads ?? Environment.ProcessorCount);
        GpuSelection = gpu;
        CudaGraphs = cudaGraphs ?? CudaGraphsFromEnvironment();
        DependentLaunch = dependentLaunch ?? GpuDependentLaunch.FromEnvironment();
        CpuRegions = Switch("HEPBNN_CPU_REGIONS", CpuRegionsDefault);
    }

    /// <summary>Resources on an already opened GPU (tests: a CPU accelerator of another shape); disposed with them.</summary>
    internal ExecutionResources(GpuDevice gpu, int cpuThreads = 1) : this(cpuThreads, GpuSelection.CpuAccelerator)
    {
        _gpu = gpu;
        _gpuOpened = true;
    }

    /// <summary>Whether sessions run each run of consecutive CPU blocks as one parallel region with static partitions
    /// (<c>Runtime.CpuSegment</c>) instead of one fork-join per block, unless
    /// <see cref="Runtime.SessionOptions.CpuRegions"/> says otherwise. HEPBNN_CPU_REGIONS=0/1 overrides the default.</summary>
    public bool CpuRegions { get; }
    /// <summary>On: measured faster on the 16-core Xeon host and on the 2-core EPYC (docs/benchmarks/cpu-limits.md).</summary>
    public const bool CpuRegionsDefault = true;

    /// <summary>An on/off environment variable: unset → <paramref name="fallback"/>; 1/on/true; 0/off/false; anything else
    /// is an error naming the variable.</summary>
    static bool Switch(string name, bool fallback) => ParseSwitch(name, Environment.GetEnvironmentVariable(name), fallback);

    internal static bool ParseSwitch(string name, string? value, bool fallback) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => fallback,
        var v => EnvironmentSwitches.OnOff(v) ?? throw new HepBnnException($"{name} must be 1/on/true or 0/off/false (got '{v}')"),
    };

    /// <summary>Whether sessions and the profiler run each GPU segment (H2D copy, launches, D2H copy) as one captured CUDA
    /// graph where the device allows it (default on; HEPBNN_CUDA_GRAPHS=0 or <see cref="SessionOptions.CudaGraphs"/> turns it off).</summary>
    public bool CudaGraphs { get; }

    /// <summary>HEPBNN_CUDA_GRAPHS: unset/1/on/true → on; 0/off/false → off; anything else is an error naming the variable.</summary>
    public static bool CudaGraphsFromEnvironment() => Switch("HEPBNN_CUDA_GRAPHS", true);

    /// <summary>Whether captured GPU segments launch each kernel while the one before it still runs (programmatic dependent
    /// launch, sm_90+; <see cref="GpuDependentLaunch"/>) unless <see cref="Runtime.SessionOptions.DependentLaunch"/> says
    /// otherwise: off by default (measured no faster at batch 1 and slower at large batches on the H200); HEPBNN_PDL=1
    /// turns it on. Same results either way.</summary>
    public bool DependentLaunch { get; }

    /// <summary>The session's GPU (context, accelerator, stream), or null when there is none.</summary>
    public GpuDevice? Gpu
    {
        get
        {
            if (!_gpuOpened)
            {
                _gpuOpened = true;
                _gpu = GpuDevice.Open(GpuSelection, out _gpuProblem);
                if (_gpu is not null) _gpu.DependentLaunch = DependentLaunch;
            }
            return _gpu;
        }
    }

    /// <summary>Why <see cref="Gpu"/> is null.</summary>
    public string? GpuProblem => Gpu is null ? _gpuProblem : null;

    /// <summary>The GPU, or a clear error saying why there is none.</summary>
    public GpuDevice RequireGpu() => Gpu ?? throw new GpuUnavailableException(_gpuProblem ?? "no GPU in this session");

    /// <summary>True when <paramref name="device"/> can be used in this session. For the GPU this opens it (CUDA context,
    /// stream) on first call, which takes a moment and holds device memory until <see cref="Dispose"/>.</summary>
    public bool TryOpen(DeviceKind device) => device == DeviceKind.Cpu || (device == DeviceKind.Gpu && Gpu is not null);

    /// <summary>True when the GPU has been opened successfully (never opens it).</summary>
    public bool GpuOpen => _gpuOpened && _gpu is not null;

    public TensorBuffer Allocate(DeviceKind device, long words) => device switch
    {
        DeviceKind.Cpu => new HostBuffer(words),
        DeviceKind.Gpu => new GpuBuffer(RequireGpu(), words),
        _ => throw new HepBnnException($"no {device} device is available in this session"),
    };

    /// <summary>Copies the first <paramref name="words"/> words of <paramref name="source"/> into <paramref name="destination"/>.
    /// Host→device and device→device copies are queued on the GPU stream (asynchronous); device→host copies are complete
    /// on return, since the host reads the data next.</summary>
    public void Copy(TensorBuffer source, TensorBuffer destination, long words)
    {
        if (words > source.Words || words > destination.Words)
            throw new HepBnnException($"copy of {words} words exceeds a buffer ({source.Words} → {destination.Words} words)");
        switch (source, destination)
        {
            case (HostBuffer hs, HostBuffer hd): hs.Span[..(int)words].CopyTo(hd.Span); return;
            case (HostBuffer hs, GpuBuffer gd): GpuTransfers.ToDevice(gd.Gpu, hs, gd, words); return;
            case (GpuBuffer gs, HostBuffer hd): GpuTransfers.ToHost(gs.Gpu, gs, hd, words); return;
            case (GpuBuffer gs, GpuBuffer gd): GpuTransfers.OnDevice(gs.Gpu, gs, gd, words); return;
        }
        throw new HepBnnException($"cannot copy {source.Device} → {destination.Device}: no such device in this session");
    }

    /// <summary>Waits until all queued work on <paramref name="device"/> is done (no-op on the CPU).</summary>
    public void Synchronize(DeviceKind device)
    {
        if (device == DeviceKind.Gpu) _gpu?.Synchronize();
    }

    public void Dispose()
    {
        _gpu?.Dispose();
        CpuWorkers.Dispose();
    }
}
