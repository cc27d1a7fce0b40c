using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Planning;

/// <summary>One block in one configuration, timed in isolation on its own device (data already there).
/// <paramref name="Pruned"/>: measured only roughly because it was far slower than the best on its device.
/// <paramref name="WithTransfers"/> (off-host configurations in per-layer tables): kernel plus its input copied in and output
/// copied back, from the profile's per-tensor transfer medians.</summary>
public sealed record BlockTiming(int Block, string BlockName, string Configuration, DeviceKind Device, TimingStats Kernel, bool Pruned = false,
    TimingStats? WithTransfers = null, int Threads = 0);

/// <summary>How <see cref="BlockBenchmark"/> spends time: a budget per measurement, and how much slower than the best
/// configuration of the same block and device a candidate may be before it is abandoned after one or two samples.
/// </summary>
public sealed record BenchmarkPolicy(double BudgetMs = 200, double PruneFactor = double.PositiveInfinity, int MinSamples = 5);

/// <summary>Times every block of a model in every applicable configuration of the chosen devices.</summary>
public static class BlockBenchmark
{
    /// <summary>Launches per sample of an off-host configuration (see the comment in Run).</summary>
    public const int ChainLaunches = 8;

    public static IEnumerable<BlockTiming> Run(BnnModel model, int batch, ExecutionResources res, Func<IKernelConfiguration, bool> include,
        int seed = 1, double budgetMs = 200, Action<string>? progress = null) =>
        Run(BlockCompiler.Compile(model), batch, res, include, new BenchmarkPolicy(budgetMs), seed, progress);

    /// <summary>The configurations that <see cref="Run(IReadOnlyList{Block}, int, ExecutionResources, Func{IKernelConfiguration, bool}, BenchmarkPolicy, int, Action{string}?)"/>
    /// measures for a block.</summary>
    public static IEnumerable<IKernelConfiguration> Candidates(Block block, ExecutionResources res, Func<IKernelConfiguration, bool> include) =>
        // gpu.fused is priced per range of blocks (FusedRangeBenchmark), never as a sum of per-block times.
        ConfigurationRegistry.For(block).Where(c => include(c) && res.TryOpen(c.Device) && !Ops.Gpu.GpuFused.Is(c));

    /// <param name="emptyRegions">An empty CPU region's µs per thread count, filled as parallel CPU blocks are timed inside
    /// regions (the caller may keep it: the profile prices each plan's regions with it).</param>
    public static IEnumerable<BlockTiming> Run(IReadOnlyList<Block> blocks, int batch, ExecutionResources res, Func<IKernelConfiguration, bool> include,
        BenchmarkPolicy policy, int seed = 1, Action<string>? progress = null, Dictionary<int, double>? emptyRegions = null)
    {
        var rng = new Random(seed);
        // Measuring the previous block's fastest configurations first makes pruning effective (blocks of one model rank alike).
        var rank = new Dictionary<string, double>();
        emptyRegions ??= []; // measured once per thread count
        foreach (var block in blocks)
        {
            var bestOnDevice = new Dictionary<DeviceKind, double>();
            // The best GPU original (not a twin): what a twin's original is compared with. Against the best of everything,
            // a twin measured first hid the rest: after gpu.tensor-core-wide-deep-const's 3.8 µs at VGG7 conv2 neither its
            // unrolled sibling nor the fold twin was measured (their originals, 4.8 and 5.0, not within 1.3x of 3.8).
            double bestOriginalGpu = double.PositiveInfinity;
            var results = new List<BlockTiming>();
            // Constant-shape twins last, and only of originals that came close to the block's best (each is a compile).
            foreach (var config in Candidates(block, res, include).Where(c => Ops.Gpu.GpuConstantShapes.Offered(c, batch))
                         .OrderBy(c => c is Ops.Gpu.GpuConstantShapes).ThenBy(c => rank.GetValueOrDefault(c.Name, double.MaxValue)))
            {
                if (config is Ops.Gpu.GpuConstantShapes twin && !TwinWorthwhile(twin, results, bestOriginalGpu))
                    continue;
                progress?.Invoke($"{block.Name} / {config.Name}");
                using var runner = config.Prepare(block, batch, res);
                using var input = res.Allocate(config.Device, block.InputBufferWords(batch));
                using var output = res.Allocate(config.Device, block.OutputBufferWords(batch));
                var host = new HostBuffer(block.InputBufferWords(batch));
                for (int i = 0; i < host.Data.Length; i++) host.Data[i] = (ulong)rng.NextInt64();
                MaskTails(block, host, batch);
                res.Copy(host, input, host.Words);
                res.Synchronize(config.Device);
                double limit = bestOnDevice.TryGetValue(config.Device, out var best) ? best * policy.PruneFactor : double.PositiveInfinity;
                var (stats, pruned) = MeasureRunner(runner, input, output, batch, config.Device, res, policy, limit, emptyRegions);
                if (!pruned) bestOnDevice[config.Device] = Math.Min(stats.MedianUs, bestOnDevice.GetValueOrDefault(config.Device, double.PositiveInfinity));
                if (!pruned && config.Device == DeviceKind.Gpu && config is not Ops.Gpu.GpuConstantShapes) bestOriginalGpu = Math.Min(bestOriginalGpu, stats.MedianUs);
                // the threads a CPU block runs on: what its region's participants (and hand-off cost) will be
                int threads = runner is Ops.Cpu.ICpuRegionWork w ? Math.Max(1, Math.Min(w.MaxThreads, res.CpuWorkers.Threads)) : 0;
                var timing = new BlockTiming(block.Index, block.Name, config.Name, config.Device, stats, Pruned: pruned, Threads: threads);
                results.Add(timing);
                yield return timing;
            }
            rank = results.ToDictionary(t => t.Configuration, t => t.Kernel.MedianUs);
        }
    }

    /// <summary>Whether to compile and measure <paramref name="twin"/> for a block whose timings so far are
    /// <paramref name="measured"/>: only when its original was measured (not abandoned) within
    /// <see cref="Ops.Gpu.GpuConstantShapes.WorthwhileWithin"/> of <paramref name="bestGpuUs"/>, the block's best GPU median of
    /// the configurations that are not twins (the profiler measures twins last).</summary>
    internal static bool TwinWorthwhile(Ops.Gpu.GpuConstantShapes twin, IEnumerable<BlockTiming> measured, double bestGpuUs) =>
        measured.FirstOrDefault(t => t.Configuration == twin.Original.Name) is { Pruned: false } original
        && original.Kernel.MedianUs <= Ops.Gpu.GpuConstantShapes.WorthwhileWithin * bestGpuUs;

    /// <summary>Median cost of one run of <paramref name="runner"/> with its data on <paramref name="device"/>, as a chain of
    /// runs on one stream or graph (see the comments); abandoned (Pruned) beyond <paramref name="limit"/> µs.</summary>
    internal static (TimingStats Stats, bool Pruned) MeasureRunner(IBlockRunner runner, TensorBuffer input, TensorBuffer output, int batch,
        DeviceKind device, ExecutionResources res, BenchmarkPolicy policy, double limit, Dictionary<int, double>? emptyRegions = null)
    {
        // Off the host, blocks of a chain run back to back on one stream with a single synchronization where the data
        // returns (that wait is part of the device→host transfer cost). So a sample is ChainLaunches launches and one
        // sync, divided by the count: the block's steady-state cost inside a chain, not launch + full round trip.
        if (device == DeviceKind.Cpu && res.CpuRegions && runner is Ops.Cpu.ICpuRegionWork work && work.MaxThreads > 1)
            return MeasureInRegion(work, input, output, batch, res, policy, limit, emptyRegions);
        int launches = device == DeviceKind.Cpu ? 1 : ChainLaunches;
        // With graphs on, a block costs what it adds as a node of a captured chain (GraphTiming), not a stream launch.
        var graphed = GraphTiming.Enabled(res, device)
            ? GraphTiming.Measure(res.RequireGpu(), () => { for (int i = 0; i < GraphTiming.ChainNodes; i++) runner.Run(input, output, batch); },
                policy.BudgetMs * GraphTiming.ChainNodes, limit * GraphTiming.ChainNodes, policy.MinSamples)
            : null;
        var (stats, pruned) = graphed ?? TimingStats.MeasureAdaptive(() =>
            {
                for (int i = 0; i < launches; i++) runner.Run(input, output, batch);
                res.Synchronize(device);
            }, policy.BudgetMs * launches, limit * launches, policy.MinSamples);
        stats = graphed is null ? stats.Scaled(1.0 / launches) : NodeCost(stats, GraphTiming.EmptyGraphUs(res.RequireGpu()));
        return (stats, pruned);
    }

    /// <summary>Copies of a CPU block in the chain that <see cref="MeasureInRegion"/> times.</summary>
    public const int RegionChain = 4;

    /// <summary>What a parallel CPU block adds inside a region (sessions run runs of CPU blocks as one
    /// <see cref="Runtime.CpuSegment"/> where <see cref="ExecutionResources.CpuRegions"/> is on): a segment of
    /// <see cref="RegionChain"/> copies of the block (each waits for the previous, as consecutive blocks do) minus an
    /// empty region on as many threads, per copy. So a block costs its static slices plus one dependency wait, not a
    /// fork-join of its own; the segment's one hand-off is left to the calibration's per-run and per-boundary terms.</summary>
    internal static (TimingStats Stats, bool Pruned) MeasureInRegion(Ops.Cpu.ICpuRegionWork runner, TensorBuffer input, TensorBuffer output, int batch,
        ExecutionResources res, BenchmarkPolicy policy, double limit, Dictionary<int, double>? emptyRegions = null)
    {
        var pool = res.CpuWorkers;
        var chain = new Runtime.CpuSegment(0, Enumerable.Repeat(runner, RegionChain).ToArray(), Enumerable.Repeat(input, RegionChain).ToArray(),
            Enumerable.Repeat(output, RegionChain).ToArray(), pool);
        emptyRegions ??= [];
        if (!emptyRegions.TryGetValue(chain.Threads, out double emptyUs))
            emptyRegions[chain.Threads] = emptyUs = CpuRoofline.Region(pool, chain.Threads, 1, iterations: 300).MedianUs;
        var (stats, pruned) = TimingStats.MeasureAdaptive(() => chain.Run(batch), policy.BudgetMs * RegionChain, limit * RegionChain, policy.MinSamples);
        double Copy(double us) => Math.Max(us / RegionChain * 0.1, (us - emptyUs) / RegionChain);
        return (stats with { MedianUs = Copy(stats.MedianUs), P10Us = Copy(stats.P10Us), P90Us = Copy(stats.P90Us) }, pruned);
    }

    /// <summary>Per-node cost from a chain of <see cref="GraphTiming.ChainNodes"/> launches in one graph: the chain minus an
    /// empty graph, per node (never below a tenth of the plain per-launch share, so noise cannot make a block free).</summary>
    static TimingStats NodeCost(TimingStats chain, double emptyUs)
    {
        double Node(double us) => Math.Max(us / GraphTiming.ChainNodes * 0.1, (us - emptyUs) / GraphTiming.ChainNodes);
        return chain with { MedianUs = Node(chain.MedianUs), P10Us = Node(chain.P10Us), P90Us = Node(chain.P90Us) };
    }

    /// <summary>Random bits must respect the invariant that channel padding bits are zero.</summary>
    internal static void MaskTails(Block block, HostBuffer host, int batch)
    {
        if (block.Input != BlockInput.Bits || block.InputShape.C % 64 == 0) return;
        int cw = block.InputWords;
        ulong keep = ~0UL >> (64 - (block.InputShape.C & 63));
        for (long p = 0; p < batch * (long)block.InputShape.Pixels; p++) host.Data[p * cw + cw - 1] &= keep;
    }
}
