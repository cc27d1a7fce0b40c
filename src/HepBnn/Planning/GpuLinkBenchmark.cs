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
public sealed record TransferReport(string Gpu, IReadOnlyList<TransferTiming> Transfers, TimingStats LaunchAndSync, TimingStats LaunchOnly)
{
    /// <summary>A small GPU segment (H2D of 784 bytes, 4 dependent empty kernels, D2H of 40 bytes, one wait) as stream launches and as one CUDA graph.</summary>
    public SegmentProbe? Segment { get; init; }
}

/// <summary>The same small segment queued eagerly and replayed as a captured graph; <paramref name="GraphProblem"/> says why there is no graph number.</summary>
public sealed record SegmentProbe(TimingStats Eager, TimingStats? Graph, TimingStats? EmptyGraph, string? GraphProblem)
{
    /// <summary>The graph with its kernel→kernel edges programmatic (null with <see cref="ProgrammaticProblem"/> when unavailable).</summary>
    public TimingStats? GraphProgrammatic { get; init; }
    public int ProgrammaticEdges { get; init; }
    public string? ProgrammaticProblem { get; init; }
    /// <summary>What one empty kernel adds to a graph, plain and programmatic edges (<see cref="GraphTiming.EmptyNodeUs"/>).</summary>
    public double? NodePlainUs { get; init; }
    public double? NodeProgrammaticUs { get; init; }
    /// <summary>A graph of one empty kernel launched and waited for each way (<see cref="GpuWait"/>), and the launch call alone.</summary>
    public IReadOnlyList<WaitTiming>? Waits { get; init; }
}

/// <summary>One way of waiting for a one-kernel graph: <paramref name="Run"/> is launch + wait, <paramref name="Launch"/> the
/// cuGraphLaunch call alone (host time until it returns), <paramref name="Problem"/> why the way fell back to sync.</summary>
public sealed record WaitTiming(string Wait, TimingStats Run, TimingStats Launch, string? Problem);

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
        return new TransferReport(gpu.Description, list, withSync, launchOnly) { Segment = Probe(gpu, budgetMs) };
    }

    /// <summary>What the C probe measured: 784 bytes in (one Fashion-MNIST image), four dependent small kernels, 40 bytes out.
    /// The kernels begin with the predecessor wait, so the same segment is also timed with programmatic edges.</summary>
    static SegmentProbe Probe(GpuDevice gpu, double budgetMs)
    {
        var (empty, one) = GraphTiming.WaitingEmpty(gpu);
        using var device = new GpuBuffer(gpu, 98);
        var hostIn = new HostBuffer(98);
        var hostOut = new HostBuffer(5);
        void Enqueue()
        {
            GpuTransfers.ToDevice(gpu, hostIn, device, 98);
            for (int i = 0; i < 4; i++) empty(gpu.Stream, one, i);
            GpuTransfers.ToHostAsync(gpu, device, hostOut, 5);
        }
        var eager = TimingStats.Measure(() => { Enqueue(); gpu.Synchronize(); }, budgetMs: budgetMs);
        gpu.PageLocks.Hold(hostIn.Data);
        gpu.PageLocks.Hold(hostOut.Data);
        try
        {
            using var graph = CudaGraph.TryCapture(gpu, Enqueue, out var problem, dependentLaunch: false);
            if (graph is null) return new SegmentProbe(eager, null, null, problem);
            var graphed = TimingStats.Measure(graph.Run, budgetMs: budgetMs);
            using var pdl = CudaGraph.TryCapture(gpu, Enqueue, out var pdlProblem, dependentLaunch: true);
            pdlProblem ??= pdl?.DependentLaunchProblem;
            TimingStats? programmatic = pdl is { ProgrammaticEdges: > 0 } ? TimingStats.Measure(pdl.Run, budgetMs: budgetMs) : null;
            var nodes = GraphTiming.EmptyNodeUs(gpu);
            return new SegmentProbe(eager, graphed, TimingStats.From([GraphTiming.EmptyGraphUs(gpu)]), null)
            {
                Waits = WaitProbe(gpu, budgetMs),
                GraphProgrammatic = programmatic, ProgrammaticEdges = pdl?.ProgrammaticEdges ?? 0, ProgrammaticProblem = pdlProblem,
                NodePlainUs = nodes?.PlainUs, NodeProgrammaticUs = nodes?.ProgrammaticUs,
            };
        }
        finally
        {
            gpu.PageLocks.Unhold(hostIn.Data);
            gpu.PageLocks.Unhold(hostOut.Data);
        }
    }

    /// <summary>The host's side of a graph run, one way of waiting after another (interleaved rounds, so that a drift of the
    /// machine affects every way alike): the empty kernel's graph per <see cref="GpuWait"/>.</summary>
    static List<WaitTiming> WaitProbe(GpuDevice gpu, double budgetMs)
    {
        var empty = gpu.Kernel<Action<AcceleratorStream, KernelConfig, int>>("empty", a => a.LoadKernel<int>(EmptyKernel));
        var one = new KernelConfig(new Index3D(1, 1, 1), new Index3D(GpuDevice.WarpSize, 1, 1));
        var waits = Enum.GetValues<GpuWait>();
        var graphs = waits.Select(w => CudaGraph.TryCapture(gpu, () => empty(gpu.Stream, one, 0), out _, false, w)).ToArray();
        try
        {
            var run = waits.Select(_ => new List<double>()).ToArray();
            var launch = waits.Select(_ => new List<double>()).ToArray();
            long end = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(budgetMs * 3e-3 * System.Diagnostics.Stopwatch.Frequency);
            for (int round = 0; round < 20 || (System.Diagnostics.Stopwatch.GetTimestamp() < end && round < 20000); round++)
                for (int i = 0; i < graphs.Length; i++)
                {
                    if (graphs[i] is not { } g) continue;
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    g.Launch();
                    long t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                    g.WaitForCompletion();
                    long t2 = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (round < 10) continue; // warm-up
                    launch[i].Add((t1 - t0) * 1e6 / System.Diagnostics.Stopwatch.Frequency);
                    run[i].Add((t2 - t0) * 1e6 / System.Diagnostics.Stopwatch.Frequency);
                }
            var result = new List<WaitTiming>();
            for (int i = 0; i < graphs.Length; i++)
                if (graphs[i] is { } g)
                    result.Add(new(waits[i].ToString().ToLowerInvariant(), TimingStats.From(run[i]), TimingStats.From(launch[i]), g.WaitProblem));
            return result;
        }
        finally
        {
            foreach (var g in graphs) g?.Dispose();
        }
    }

    static void EmptyKernel(int unused) { }
}
