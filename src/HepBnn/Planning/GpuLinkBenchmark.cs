using HepBnn.Devices;
using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Planning;

/// <summary>One copy size in one direction from one kind of host memory.</summary>
public sealed record TransferTiming(string Direction, long Bytes, string HostMemory, TimingStats Time)
{
    /// <summary>Effective bandwidth at the median, GB/s.</summary>
    public double GigabytesPerSecond => Bytes / (Time.MedianUs * 1e3);
}

/// <summary>Transfer costs and the per-launch overhead of this session's GPU.</summary>
public sealed record TransferReport(string Gpu, IReadOnlyList<TransferTiming> Transfers, TimingStats LaunchAndSync, TimingStats LaunchOnly);

/// <summary>
/// Measures host→device and device→host copies (synchronized, medians) from pageable memory (an ordinary managed array,
/// as most callers have) and from page-locked memory (a pinned host buffer registered with the driver, as sessions use),
/// and the cost of launching an empty kernel: with a stream synchronize each time, and queued back to back.
/// </summary>
public static class GpuLinkBenchmark
{
    public static readonly long[] DefaultSizes = [1 << 10, 64 << 10, 4 << 20];

    public static TransferReport Run(ExecutionResources res, IReadOnlyList<long>? sizes = null, double budgetMs = 200)
    {
        var gpu = res.RequireGpu();
        try { return Measure(gpu, sizes, budgetMs); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, "measuring transfers and launches", gpu); }
    }

    static TransferReport Measure(GpuDevice gpu, IReadOnlyList<long>? sizes, double budgetMs)
    {
        var list = new List<TransferTiming>();
        foreach (long bytes in sizes ?? DefaultSizes)
        {
            long words = Math.Max(1, bytes / 8);
            using var device = new GpuBuffer(gpu, words);
            var pageable = new ulong[words];
            var locked = new HostBuffer(words);
            var stream = gpu.Stream;
            var view = device.View;
            list.Add(new("host→device", bytes, "pageable", TimingStats.Measure(() => view.CopyFromCPU(stream, new ReadOnlySpan<ulong>(pageable)), budgetMs: budgetMs)));
            list.Add(new("host→device", bytes, "page-locked", TimingStats.Measure(() => { GpuTransfers.ToDevice(gpu, locked, device, words); stream.Synchronize(); }, budgetMs: budgetMs)));
            list.Add(new("device→host", bytes, "pageable", TimingStats.Measure(() => view.CopyToCPU(stream, new Span<ulong>(pageable)), budgetMs: budgetMs)));
            list.Add(new("device→host", bytes, "page-locked", TimingStats.Measure(() => GpuTransfers.ToHost(gpu, device, locked, words), budgetMs: budgetMs)));
        }
        var empty = gpu.Kernel<Action<AcceleratorStream, KernelConfig, int>>("empty", a => a.LoadKernel<int>(EmptyKernel));
        var one = new KernelConfig(new Index3D(1, 1, 1), new Index3D(GpuDevice.WarpSize, 1, 1));
        var withSync = TimingStats.Measure(() => { empty(gpu.Stream, one, 0); gpu.Stream.Synchronize(); }, budgetMs: budgetMs);
        const int queued = 100;
        var launchOnly = TimingStats.Measure(() =>
        {
            for (int i = 0; i < queued; i++) empty(gpu.Stream, one, i);
            gpu.Stream.Synchronize();
        }, budgetMs: budgetMs);
        launchOnly = new TimingStats(launchOnly.MedianUs / queued, launchOnly.P10Us / queued, launchOnly.P90Us / queued, launchOnly.Samples);
        return new TransferReport(gpu.Description, list, withSync, launchOnly);
    }

    static void EmptyKernel(int unused) { }
}
