using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Devices;

/// <summary>One device allocation, counted in <see cref="GpuDevice.AllocatedBytes"/> until disposed (ILGPU keeps no such
/// count), so that leaks show and memory use can be reported.</summary>
public sealed class GpuMemory<T> : IDisposable where T : unmanaged
{
    readonly GpuDevice _gpu;
    readonly MemoryBuffer1D<T, Stride1D.Dense> _buffer;
    bool _disposed;

    internal GpuMemory(GpuDevice gpu, MemoryBuffer1D<T, Stride1D.Dense> buffer, long bytes)
    {
        _gpu = gpu; _buffer = buffer; Bytes = bytes;
    }

    public long Bytes { get; }
    public ArrayView1D<T, Stride1D.Dense> View => _buffer.View;
    public bool IsDisposed => _disposed;

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _buffer.Dispose();
        _gpu.Released(Bytes);
    }
}
