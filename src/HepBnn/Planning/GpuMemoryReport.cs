using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Planning;

/// <summary>GPU memory at one moment: what this session's allocations hold (our own count) and, on CUDA, what the driver
/// reports free on the whole device (null on the emulating CPU accelerator).</summary>
public sealed record GpuMemoryReading(long SessionBytes, long? DeviceFreeBytes, long? DeviceTotalBytes)
{
    public static GpuMemoryReading Of(GpuDevice gpu)
    {
        var device = gpu.DeviceMemory();
        return new(gpu.AllocatedBytes, device?.FreeBytes, device?.TotalBytes);
    }
}

/// <summary>GPU memory before an all-GPU session of <see cref="Model"/> is created, while it exists, and after it is disposed:
/// shows what a session costs on the device and that disposal gives it back.</summary>
public sealed record GpuMemoryReport(string Model, int Batch, string[] Configurations, GpuMemoryReading Before, GpuMemoryReading Created, GpuMemoryReading Disposed)
{
    /// <summary>Every block on the first GPU configuration that supports it.</summary>
    public static GpuMemoryReport Measure(BnnModel model, int batch, ExecutionResources res)
    {
        var gpu = res.RequireGpu();
        var blocks = BlockCompiler.Compile(model);
        var configs = blocks.Select(b => ConfigurationRegistry.For(b, DeviceKind.Gpu).FirstOrDefault()
            ?? throw new HepBnnException($"no GPU configuration supports block {b.Name}")).ToArray();
        gpu.Synchronize();
        var before = GpuMemoryReading.Of(gpu);
        GpuMemoryReading created;
        using (new InferenceSession(model, blocks, configs, new SessionOptions { MaxBatch = batch }, res))
        {
            gpu.Synchronize();
            created = GpuMemoryReading.Of(gpu);
        }
        gpu.Synchronize();
        return new GpuMemoryReport(model.Name, batch, configs.Select(c => c.Name).ToArray(), before, created, GpuMemoryReading.Of(gpu));
    }
}
