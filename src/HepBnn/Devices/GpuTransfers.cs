using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Devices;

/// <summary>Copies between host buffers and the GPU on the session stream, through the cached page-locked views.</summary>
public static class GpuTransfers
{
    public static void ToDevice(GpuDevice gpu, HostBuffer host, GpuBuffer device, long words)
    {
        if (words <= 0) return;
        try
        {
            var target = device.View.SubView(0, words);
            if (gpu.PageLocks.ViewOf(host.Data) is { } locked) target.CopyFrom(gpu.Stream, locked.SubView(0, words));
            else target.CopyFromCPUUnsafeAsync(gpu.Stream, ref host.Data[0], words);
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, $"copying {words * 8} bytes host→GPU", gpu); }
    }

    /// <summary>Device→host, complete on return (the host reads the data next).</summary>
    public static void ToHost(GpuDevice gpu, GpuBuffer device, HostBuffer host, long words)
    {
        if (words <= 0) return;
        ToHostAsync(gpu, device, host, words);
        try { gpu.Stream.Synchronize(); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, $"copying {words * 8} bytes GPU→host", gpu); }
    }

    /// <summary>Device→host queued on the stream only (the caller synchronizes): the last step of a GPU segment, which a
    /// CUDA graph captures as a memcpy node when <paramref name="host"/> is page-locked.</summary>
    public static void ToHostAsync(GpuDevice gpu, GpuBuffer device, HostBuffer host, long words)
    {
        if (words <= 0) return;
        try
        {
            var source = device.View.SubView(0, words);
            if (gpu.PageLocks.ViewOf(host.Data) is { } locked) source.CopyTo(gpu.Stream, locked.SubView(0, words));
            else source.CopyToCPUUnsafeAsync(gpu.Stream, ref host.Data[0], words);
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, $"copying {words * 8} bytes GPU→host", gpu); }
    }

    public static void OnDevice(GpuDevice gpu, GpuBuffer source, GpuBuffer destination, long words)
    {
        if (words <= 0) return;
        try { destination.View.SubView(0, words).CopyFrom(gpu.Stream, source.View.SubView(0, words)); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, $"copying {words * 8} bytes on the GPU", gpu); }
    }
}
