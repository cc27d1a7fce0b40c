using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Devices;

/// <summary>Device memory on the session's GPU, allocated once (image bytes and int scores are viewed through its words).</summary>
public sealed class GpuBuffer : TensorBuffer
{
    readonly GpuMemory<ulong> _memory;

    public GpuBuffer(GpuDevice gpu, long words)
    {
        Gpu = gpu;
        _memory = gpu.Allocate<ulong>(Math.Max(words, 1));
        View = _memory.View;
    }

    public GpuDevice Gpu { get; }
    public ArrayView<ulong> View { get; }
    public override DeviceKind Device => DeviceKind.Gpu;
    public override long Words => View.Length;
    public bool IsDisposed => _memory.IsDisposed;
    public override void Dispose() => _memory.Dispose();
}
