
namespace HepBnn.Devices;

/// <summary>
/// One 32-bit word of page-locked, device-mapped host memory (<c>cuMemHostAlloc</c> with DEVICEMAP): the host reads and
/// writes it at <see cref="Host"/>, kernels (or the driver's stream memory operations) at <see cref="DeviceAddress"/>.
/// The launch gate (<see cref="GpuLaunchGate"/>: the host opens it, the GPU waits) and the completion word
/// (<see cref="GpuCompletion"/>: the GPU sets it, the host waits) are each one of these. CUDA only.
/// </summary>
public sealed unsafe class MappedHostWord : IDisposable
{
    const int Success = 0;
    const uint HostAllocPortableMapped = 3; // CU_MEMHOSTALLOC_PORTABLE | CU_MEMHOSTALLOC_DEVICEMAP

    readonly GpuDevice _gpu;
    uint* _word;

    MappedHostWord(GpuDevice gpu, uint* word, ulong deviceAddress) { _gpu = gpu; _word = word; DeviceAddress = deviceAddress; }

    /// <summary>The word's address for kernels and stream memory operations.</summary>
    public ulong DeviceAddress { get; }

    /// <summary>The word's host address (valid until disposed).</summary>
    public uint* Host
    {
        get
        {
            ObjectDisposedException.ThrowIf(_word == null, this);
            return _word;
        }
    }

    public uint Read() => Volatile.Read(ref *Host);

    public void Write(uint value) => Volatile.Write(ref *Host, value);

    /// <summary>Null when mapped words can be made on <paramref name="gpu"/> (a CUDA device that maps host memory and a
    /// driver with the three entry points); otherwise why not.</summary>
    public static string? Unsupported(GpuDevice gpu) => GpuHostIoSwitch.Unsupported(gpu) ?? Driver.Problem;

    /// <summary>A word set to 0 on <paramref name="gpu"/>; null with <paramref name="problem"/> (naming <paramref name="what"/>)
    /// where none can be made.</summary>
    public static MappedHostWord? TryCreate(GpuDevice gpu, string what, out string? problem)
    {
        problem = Unsupported(gpu);
        if (problem is not null) return null;
        try
        {
            gpu.Accelerator.Bind();
            void* host = null;
            int rc = Driver.HostAlloc(&host, 64, HostAllocPortableMapped);
            if (rc != Success || host == null) { problem = $"cuMemHostAlloc of {what} failed (CUresult {rc})"; return null; }
            ulong device = 0;
            rc = Driver.DevicePointer(&device, host, 0);
            if (rc != Success || device == 0)
            {
                Driver.FreeHost(host);
                problem = $"cuMemHostGetDevicePointer of {what} failed (CUresult {rc})";
                return null;
            }
            *(uint*)host = 0;
            return new MappedHostWord(gpu, (uint*)host, device);
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e))
        {
            problem = $"{what} could not be allocated: {GpuDetection.Describe(e)}";
            return null;
        }
    }

    public void Dispose()
    {
        if (_word == null) return;
        try { _gpu.Accelerator.Bind(); Driver.FreeHost(_word); }
        catch (Exception) { /* a failed device still lets the session release everything else */ }
        _word = null;
    }

    /// <summary>The three driver entry points, resolved from libcuda once.</summary>
    static class Driver
    {
        public static readonly string? Problem;
        static readonly delegate* unmanaged<void**, nuint, uint, int> _hostAlloc;
        static readonly delegate* unmanaged<ulong*, void*, uint, int> _devicePointer;
        static readonly delegate* unmanaged<void*, int> _freeHost;

        static Driver()
        {
            if (CudaDriverLibrary.Problem is { } missing) { Problem = missing; return; }
            string name = CudaDriverLibrary.Name;
            static IntPtr Get(string symbol) => CudaDriverLibrary.Export(symbol);
            IntPtr alloc = Get("cuMemHostAlloc"), pointer = Get("cuMemHostGetDevicePointer_v2"), free = Get("cuMemFreeHost");
            if (alloc == 0 || pointer == 0 || free == 0)
            {
                Problem = $"{name} lacks cuMemHostAlloc, cuMemHostGetDevicePointer_v2 or cuMemFreeHost";
                return;
            }
            _hostAlloc = (delegate* unmanaged<void**, nuint, uint, int>)alloc;
            _devicePointer = (delegate* unmanaged<ulong*, void*, uint, int>)pointer;
            _freeHost = (delegate* unmanaged<void*, int>)free;
        }

        public static int HostAlloc(void** p, nuint bytes, uint flags) => _hostAlloc(p, bytes, flags);
        public static int DevicePointer(ulong* d, void* p, uint flags) => _devicePointer(d, p, flags);
        public static void FreeHost(void* p) => _freeHost(p);
    }
}
