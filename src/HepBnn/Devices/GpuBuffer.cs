using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Devices;

/// <summary>Device memory on the session's GPU, allocated once (image bytes and int scores are viewed through its words).</summary>
public sealed class GpuBuffer : TensorBuffer
{
    readonly GpuMemory<ulong>? _memory;

    public GpuBuffer(GpuDevice gpu, long words)
    {
        Gpu = gpu;
        _memory = gpu.Allocate<ulong>(Math.Max(words, 1));
        View = _memory.View;
    }

    /// <summary>Page-locked host memory that kernels address directly (the driver maps it; reads and writes cross PCIe,
    /// no copy node): <paramref name="mappedHost"/> from <see cref="HostPageLocks.ViewOf"/>, held by the caller. Owns nothing.</summary>
    internal GpuBuffer(GpuDevice gpu, ArrayView<ulong> mappedHost)
    {
        Gpu = gpu;
        View = mappedHost;
        IsMappedHost = true;
    }

    /// <summary>True for a view of mapped host memory (<see cref="GpuBuffer(GpuDevice, ArrayView{ulong})"/>).</summary>
    public bool IsMappedHost { get; }

    public GpuDevice Gpu { get; }
    public ArrayView<ulong> View { get; }
    public override DeviceKind Device => DeviceKind.Gpu;
    public override long Words => View.Length;
    public bool IsDisposed => _memory?.IsDisposed ?? false;
    public override void Dispose() => _memory?.Dispose();
}
