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
                return OpenCpuAccelerator();
            default:
                if (GpuDetection.Gpus.Count == 0) { problem = GpuDetection.Problem ?? "no CUDA GPU"; return null; }
                Context? context = null;
                try
                {
                    context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
                    var device = context.GetCudaDevice(0);
                    var flags = CudaSchedule();
                    var accelerator = device.CreateCudaAccelerator(context, flags);
                    return new GpuDevice(context, accelerator, $"{GpuInfo.From(0, device).Summary}, {flags}");
                }
                catch (Exception e)
                {
                    context?.Dispose();
                    problem = $"no usable CUDA GPU: {GpuDetection.Describe(e)}";
                    return null;
                }
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
    static GpuDevice OpenCpuAccelerator()
    {
        var context = Context.Create(b => b.CPU(new CPUDevice(numThreadsPerWarp: WarpSize, numWarpsPerMultiprocessor: 2, numMultiprocessors: 1)));
        var accelerator = context.GetCPUDevice(0).CreateCPUAccelerator(context);
        return new GpuDevice(context, accelerator, "ILGPU CPU accelerator (emulated GPU)");
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
                throw new HepBnnException($"compiling GPU kernel {key} for {Description} failed: {GpuDetection.Describe(e)}", e);
            }
            _kernels[key] = loaded;
            return loaded;
        }
    }

    public void Synchronize() => Stream.Synchronize();

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try { Stream.Synchronize(); } catch (Exception) { /* a failed device still has to release its resources */ }
        PageLocks.Dispose();
        Stream.Dispose();
        Accelerator.Dispose();
        _context.Dispose();
    }
}
