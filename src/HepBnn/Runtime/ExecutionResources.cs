using HepBnn.Devices;

namespace HepBnn.Runtime;

/// <summary>Long-lived execution resources shared by the runners of one session: the CPU worker pool
/// (never re-created per call) and, when present, the GPU. Also the one place that allocates device buffers
/// and moves data between devices.</summary>
public sealed class ExecutionResources : IDisposable
{
    public CpuWorkerPool CpuWorkers { get; }

    public ExecutionResources(int? cpuThreads = null)
    {
        CpuWorkers = new CpuWorkerPool(cpuThreads ?? Environment.ProcessorCount);
    }

    public bool Has(DeviceKind device) => device == DeviceKind.Cpu;

    public TensorBuffer Allocate(DeviceKind device, long words) => device switch
    {
        DeviceKind.Cpu => new HostBuffer(words),
        _ => throw new HepBnnException($"no {device} device is available in this session"),
    };

    /// <summary>Copies the first <paramref name="words"/> words of <paramref name="source"/> into <paramref name="destination"/>,
    /// across devices where needed (asynchronously with respect to the host where a GPU is involved).</summary>
    public void Copy(TensorBuffer source, TensorBuffer destination, long words)
    {
        if (source is HostBuffer hs && destination is HostBuffer hd) { hs.Span[..(int)words].CopyTo(hd.Span); return; }
        throw new HepBnnException($"cannot copy {source.Device} → {destination.Device}: no such device in this session");
    }

    /// <summary>Waits until all queued work on <paramref name="device"/> is done (no-op on the CPU).</summary>
    public void Synchronize(DeviceKind device) { }

    public void Dispose() => CpuWorkers.Dispose();
}
