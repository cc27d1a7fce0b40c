using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>
/// The GPU of one session: an ILGPU context, one accelerator, ONE stream on which every kernel and copy is ordered,
/// the kernels loaded so far (each compiled once per accelerator) and the page-locked registrations of host buffers.
/// </summary>
public sealed class GpuDevice : IDisposable
{
    /// <summary>Every kernel assembles 32 channel bits per warp; both CUDA and the emulating CPU accelerator use 32.</summary>
    public const int WarpSize = 32;

    readonly Context _context;
    readonly Dictionary<string, object> _kernels = [];
    readonly HashSet<IntPtr> _waitingFunctions = [];
    bool _disposed;

    public Accelerator Accelerator { get; }
    public AcceleratorStream Stream { get; }
    public HostPageLocks PageLocks { get; }
    public bool IsCuda => Accelerator.AcceleratorType == AcceleratorType.Cuda;
    /// <summary>One line: what plays the GPU.</summary>
    public string Description { get; }
    /// <summary>Threads per group the kernels use at most (128, or less where the device allows less).</summary>
    public int MaxGroupSize => Math.Min(128, Accelerator.MaxNumThreadsPerGroup) / WarpSize * WarpSize;

    GpuDevice(Context context, Accelerator accelerator, string description)
    {
        _context = context;
        Accelerator = accelerator;
        Description = description;
        if (accelerator.WarpSize != WarpSize)
            throw new HepBnnException($"{description}: warp size {accelerator.WarpSize} is not supported (the GPU kernels need {WarpSize})");
        Stream = accelerator.CreateStream();
        PageLocks = new HostPageLocks(this);
    }

    /// <summary>Opens the device <paramref name="selection"/> asks for; null with a reason when there is none.</summary>
    public static GpuDevice? Open(GpuSelection selection, out string? problem)
    {
        problem = null;
        switch (selection)
        {
            case GpuSelection.None:
                problem = "no GPU in this session (GPU selection: none)";
                return null;
            case GpuSelection.CpuAccelerator:
                return TryOpen(OpenCpuAccelerator, "ILGPU CPU accelerator unusable", out problem);
            default:
                if (GpuDetection.Gpus.Count == 0) { problem = NoCudaReason(GpuDetection.Problem); return null; }
                return TryOpen(OpenCuda, "no usable CUDA GPU", out problem);
        }
    }

    /// <summary>"no usable CUDA GPU: reason" whatever detection said.</summary>
    internal static string NoCudaReason(string? detected) =>
        detected is not null && detected.StartsWith("no usable CUDA GPU: ", StringComparison.Ordinal) ? detected
            : $"no usable CUDA GPU: {(string.IsNullOrEmpty(detected) || detected == "no CUDA GPU" ? "no CUDA device found" : detected)}";

    /// <summary>Runs <paramref name="open"/>; any failure (driver, context, accelerator, stream) becomes a reason, never an exception.</summary>
    internal static GpuDevice? TryOpen(Func<GpuDevice> open, string prefix, out string? problem)
    {
        problem = null;
        try { return open(); }
        catch (HepBnnException e) { problem = $"{prefix}: {e.Message}"; }
        catch (Exception e) { problem = $"{prefix}: {GpuDetection.Describe(e)}"; }
        return null;
    }

    static GpuDevice OpenCuda()
    {
        var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
        Accelerator? accelerator = null;
        try
        {
            var device = context.GetCudaDevice(0);
            var flags = CudaSchedule();
            accelerator = device.CreateCudaAccelerator(context, flags);
            // Kernels that contain griddepcontrol must be compiled for .target sm_90 (ILGPU would write sm_80).
            if (GpuDependentLaunch.KernelsWait && device.Architecture is { Major: >= 9 })
                GpuDependentLaunch.RaiseTarget(((CudaAccelerator)accelerator).Capabilities);
            return new GpuDevice(context, accelerator, $"{GpuInfo.From(0, device).Summary}, {flags}");
        }
        catch
        {
            accelerator?.Dispose();
            context.Dispose();
            throw;
        }
    }

    /// <summary>How the host waits for the GPU. Spinning (default) gives the lowest synchronize latency, which dominates at
    /// batch 1; HEPBNN_CUDA_SCHEDULE=auto|spin|yield|blocking overrides it.</summary>
    static CudaAcceleratorFlags CudaSchedule() => Environment.GetEnvironmentVariable("HEPBNN_CUDA_SCHEDULE")?.ToLowerInvariant() switch
    {
        null or "" or "spin" => CudaAcceleratorFlags.ScheduleSpin,
        "auto" => CudaAcceleratorFlags.ScheduleAuto,
        "yield" => CudaAcceleratorFlags.ScheduleYield,
        "blocking" => CudaAcceleratorFlags.ScheduleBlockingSync,
        var other => throw new HepBnnException($"HEPBNN_CUDA_SCHEDULE must be auto, spin, yield or blocking (got '{other}')"),
    };

    /// <summary>ILGPU's CPU accelerator with 32-lane warps and at most 64 threads per group (fewer threads emulate faster).</summary>
    static GpuDevice OpenCpuAccelerator() => OpenCpuAccelerator(2);

    /// <summary>ILGPU's CPU accelerator with groups of up to <paramref name="warps"/> warps: tests of kernels whose
    /// groups have more than 2 warps on a GPU (gpu.tensor-core-wide-4w's second warp pair).</summary>
    internal static GpuDevice OpenCpuAccelerator(int warps)
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(numThreadsPerWarp: WarpSize, numWarpsPerMultiprocessor: warps, numMultiprocessors: 1)));
        try
        {
            var accelerator = context.GetCPUDevice(0).CreateCPUAccelerator(context);
            return new GpuDevice(context, accelerator, "ILGPU CPU accelerator (emulated GPU)");
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    long _allocated;

    /// <summary>Bytes of device memory this session holds now (every allocation goes through <see cref="Allocate{T}"/>).</summary>
    public long AllocatedBytes => Interlocked.Read(ref _allocated);

    /// <summary>A cap on <see cref="AllocatedBytes"/> (null: only the device's own limit). Tests use it to simulate a full device.</summary>
    internal long? MemoryLimitBytes { get; set; }

    /// <summary>Device memory for <paramref name="length"/> elements; a full device is a <see cref="GpuOutOfMemoryException"/>
    /// and any other failure a <see cref="GpuUnavailableException"/>.</summary>
    public GpuMemory<T> Allocate<T>(long length) where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        length = Math.Max(length, 1);
        long bytes = checked(length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        if (MemoryLimitBytes is { } limit && AllocatedBytes + bytes > limit)
            throw GpuFaults.OutOfMemory(bytes);
        MemoryBuffer1D<T, Stride1D.Dense> buffer;
        try { buffer = Accelerator.Allocate1D<T>(length); }
        catch (Exception e) when (GpuFaults.IsOutOfMemory(e)) { throw GpuFaults.OutOfMemory(bytes, inner: e); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, $"allocating {bytes} bytes", this); }
        Interlocked.Add(ref _allocated, bytes);
        return new GpuMemory<T>(this, buffer, bytes);
    }

    /// <summary>Allocates and copies <paramref name="data"/> (complete on return).</summary>
    public GpuMemory<T> Upload<T>(T[] data) where T : unmanaged
    {
        var memory = Allocate<T>(data.Length);
        try { memory.View.SubView(0, data.Length).CopyFromCPU(Stream, data); Synchronize(); }
        catch (Exception e)
        {
            memory.Dispose();
            if (GpuFaults.IsDeviceFault(e)) throw GpuFaults.Wrap(e, $"uploading {memory.Bytes} bytes", this);
            throw;
        }
        return memory;
    }

    internal void Released(long bytes) => Interlocked.Add(ref _allocated, -bytes);

    /// <summary>Free and total device memory as the driver reports it (CUDA only; null elsewhere or on failure).</summary>
    public (long FreeBytes, long TotalBytes)? DeviceMemory()
    {
        if (!IsCuda || _disposed) return null;
        try
        {
            Accelerator.Bind();
            return CudaAPI.CurrentAPI.GetMemoryInfo(out long free, out long total) == CudaError.CUDA_SUCCESS ? (free, total) : null;
        }
        catch (Exception) { return null; }
    }

    /// <summary>The kernel named <paramref name="key"/>, compiled and loaded on first request only.</summary>
    public T Kernel<T>(string key, Func<Accelerator, T> load) where T : class
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_kernels)
        {
            if (_kernels.TryGetValue(key, out var k)) return (T)k;
            T loaded;
            try { loaded = load(Accelerator); }
            catch (Exception e) when (e is not HepBnnException)
            {
                throw new GpuUnavailableException($"compiling GPU kernel {key} for {Description} failed: {GpuDetection.Describe(e)}", e);
            }
            _kernels[key] = loaded;
            // ILGPU's launcher delegate is bound to its Kernel: remember the CUDA functions that start with the
            // predecessor wait, the only ones a captured graph may launch early (CudaGraph, programmatic edges).
            if (loaded is Delegate { Target: CudaKernel cuda } && GpuDependentLaunch.KernelsWait
                && GpuDependentLaunch.StartsWithWait(cuda.CompiledKernel.SourceMethod))
                lock (_waitingFunctions) _waitingFunctions.Add(cuda.FunctionPtr);
            return loaded;
        }
    }

    ILGPU.Backends.PTX.PTXBackend? _constantBackend;

    /// <summary>The PTX backend that compiles constant-shape kernels (<c>Ops.Gpu.GpuConstantKernel</c>): built like the
    /// accelerator's own (ILGPU keeps that one internal), once per device. CUDA only.</summary>
    internal ILGPU.Backends.PTX.PTXBackend ConstantBackend
    {
        get
        {
            lock (_kernels)
                return _constantBackend ??= Accelerator is CudaAccelerator cuda
                    ? new ILGPU.Backends.PTX.PTXBackend(cuda.Context, cuda.Capabilities, cuda.Architecture, cuda.InstructionSet, null)
                    : throw new HepBnnException("constant-shape kernels are compiled for CUDA devices only");
        }
    }

    /// <summary>Whether the CUDA function <paramref name="function"/> is a kernel of this device that begins with
    /// <see cref="GpuDependentLaunch.Wait"/> (so it may be launched before its predecessor kernel completes).</summary>
    internal bool KernelWaits(IntPtr function)
    {
        lock (_waitingFunctions) return _waitingFunctions.Contains(function);
    }

    /// <summary>Kernels loaded so far that begin with <see cref="GpuDependentLaunch.Wait"/>.</summary>
    public int WaitingKernels
    {
        get { lock (_waitingFunctions) return _waitingFunctions.Count; }
    }

    /// <summary>Whether graphs captured on this device turn kernel→kernel edges into programmatic ones by default
    /// (<see cref="ExecutionResources.DependentLaunch"/> sets it; a segment may override it per session).</summary>
    public bool DependentLaunch { get; set; }

    public void Synchronize()
    {
        try { Stream.Synchronize(); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, "waiting for the GPU (stream synchronize)", this); }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { Stream.Synchronize(); } catch (Exception) { /* a failed device still has to release its resources */ }
        PageLocks.Dispose();
        _constantBackend?.Dispose();
        Stream.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
