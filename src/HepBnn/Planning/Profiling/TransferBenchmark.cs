using HepBnn.Devices;
using HepBnn.Ops;
namespace HepBnn.Planning;

/// <summary>Cost of moving every tensor that could cross a device boundary (each block's input and output, i.e. every
/// boundary of the chain) between the host and each accelerator, both ways, through <see cref="ExecutionResources.Copy"/>
/// and <see cref="ExecutionResources.Synchronize"/> exactly as a session moves them. Equal sizes are measured once.</summary>
public static class TransferBenchmark
{
    /// <summary>Words of the tensor at each boundary 0..n at this batch.</summary>
    public static long[] BoundaryWords(IReadOnlyList<Block> blocks, int batch) =>
        [blocks[0].InputBufferWords(batch), .. blocks.Select(b => b.OutputBufferWords(batch))];

    /// <summary>The accelerators (non-host devices) that have at least one included configuration and exist here.</summary>
    public static IReadOnlyList<DeviceKind> Accelerators(ExecutionResources res, Func<IKernelConfiguration, bool> include) =>
        ConfigurationRegistry.All.Where(c => c.Device != DeviceKind.Cpu && include(c) && res.TryOpen(c.Device)).Select(c => c.Device).Distinct().ToList();

    public static int Count(IReadOnlyList<Block> blocks, int batch, IReadOnlyList<DeviceKind> devices) =>
        BoundaryWords(blocks, batch).Distinct().Count() * devices.Count * 2;

    public static IEnumerable<TransferProfile> Run(IReadOnlyList<Block> blocks, int batch, ExecutionResources res,
        IReadOnlyList<DeviceKind> devices, double budgetMs, Action<string>? progress = null)
    {
        var words = BoundaryWords(blocks, batch);
        foreach (var device in devices)
            foreach (long size in words.Distinct())
            {
                using var host = new HostBuffer(size);
                using var remote = res.Allocate(device, size);
                host.Span.Fill(0x5A5A_5A5A_5A5A_5A5AUL);
                foreach (var direction in new[] { TransferDirection.HostToDevice, TransferDirection.DeviceToHost })
                {
                    progress?.Invoke($"{direction} {size * 8} bytes ({device})");
                    TensorBuffer src = direction == TransferDirection.HostToDevice ? host : remote, dst = direction == TransferDirection.HostToDevice ? remote : host;
                    var stats = GraphTiming.Enabled(res, device) ? Graphed(res, host, (GpuBuffer)remote, direction, size, budgetMs) : null;
                    stats ??= TimingStats.MeasureAdaptive(() => { res.Copy(src, dst, size); res.Synchronize(device); }, budgetMs, minSamples: 5).Stats;
                    for (int b = 0; b < words.Length; b++)
                        if (words[b] == size)
                            yield return new TransferProfile(b, device, direction, size, stats.Value.MedianUs, stats.Value.P10Us, stats.Value.P90Us, stats.Value.Samples);
                }
            }
    }

    /// <summary>With graphs on: host→device is a whole graph of that copy with its launch and wait (the GPU segment's fixed
    /// cost, paid once where the data enters the GPU); device→host is what the copy adds to a graph (the last node of the
    /// segment). Null if capture fails.</summary>
    static TimingStats? Graphed(ExecutionResources res, HostBuffer host, GpuBuffer remote, TransferDirection direction, long words, double budgetMs)
    {
        var gpu = res.RequireGpu();
        Action enqueue = direction == TransferDirection.HostToDevice
            ? () => GpuTransfers.ToDevice(gpu, host, remote, words)
            : () => GpuTransfers.ToHostAsync(gpu, remote, host, words);
        if (GraphTiming.Measure(gpu, enqueue, budgetMs, double.PositiveInfinity, 5, host.Data) is not { } m) return null;
        // Block node costs are measured in chains whose kernels follow kernels (programmatic edges where on); the segment's
        // first kernel follows this copy over a plain edge, and that difference is paid once per entry, like the copy.
        if (direction == TransferDirection.HostToDevice)
        {
            double extra = GraphTiming.FirstKernelExtraUs(gpu);
            return m.Stats with { MedianUs = m.Stats.MedianUs + extra, P10Us = m.Stats.P10Us + extra, P90Us = m.Stats.P90Us + extra };
        }
        double empty = GraphTiming.EmptyGraphUs(gpu);
        double Node(double us) => Math.Max(0.1 * us, us - empty);
        return m.Stats with { MedianUs = Node(m.Stats.MedianUs), P10Us = Node(m.Stats.P10Us), P90Us = Node(m.Stats.P90Us) };
    }
}
