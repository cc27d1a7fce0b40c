using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Formats;
using HepBnn.Model;
using HepBnn.Ops.Cpu;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn roofline`: the CPU's measured peak per popcount route (1 thread and all), the fork-join cost of the
/// worker pool for several thread counts, and each CPU block's fraction of the peak in every CPU configuration.</summary>
public static class RooflineCommand
{
    public sealed record PeakRow(string Route, int Threads, double GWordOpsPerS);
    public sealed record ForkJoinRow(int Threads, double MedianUs, double P90Us, double RegionUs, double BoundaryUs);
    public sealed record BlockRow(string Model, int Batch, string Block, string Configuration, double MedianUs, long WordOps, double GWordOpsPerS,
        string PeakRoute, int PeakThreads, double FractionOfPeak)
    {
        /// <summary>Parallel efficiency: the same kernel's single-thread time on this block / (threads × this time); NaN
        /// when single-threaded or when that single-thread configuration was not in the table.</summary>
        public double ParallelEfficiency { get; set; } = double.NaN;
    }
    public sealed record SegmentRow(string Model, int Batch, string Configuration, int Blocks, double PerBlockForkJoinUs, double OneRegionUs, double SavedPerBoundaryUs)
    {
        public double PerBlockP90Us { get; init; }
        public double OneRegionP10Us { get; init; }
        public double OneRegionP90Us { get; init; }
        /// <summary>With HEPBNN_POOL_TRACE=1: where the region's runs spend their time (typical runs vs the slowest tenth).</summary>
        public string? Trace { get; init; }
    }
    /// <summary>The carry-save kernel's rate on one block shape (patch words × output words) with its weights in L1 (one
    /// output word) and at the block's size, on 1 thread and on all: what the machine lets the block's arithmetic and
    /// its weight traffic scale to, independent of partitions and waits.</summary>
    public sealed record KernelScalingRow(string Kernel, int PatchWords, int OutputWords, double OneThreadL1, double AllThreadsL1,
        double OneThreadBlockWeights, double AllThreadsBlockWeights, int Threads)
    {
        public double ScalingL1 => AllThreadsL1 / OneThreadL1;
        public double ScalingBlockWeights => AllThreadsBlockWeights / OneThreadBlockWeights;
    }
    public sealed record ForkVariantRow(string Variant, int Round, int Threads, double ForMedianUs, double ForP90Us, double RegionUs, double BoundaryUs);
    public sealed record Report(string Cpu, int Cores, double LoadAverage, List<PeakRow> Peaks, List<ForkJoinRow> ForkJoin, List<BlockRow> Blocks)
    {
        public List<ForkVariantRow> ForkVariants { get; } = [];
        public List<SegmentRow> Segments { get; } = [];
        public List<KernelScalingRow> KernelScaling { get; } = [];
    }

    /// <summary>Whole-model latency of an all-CPU session with one fork-join per block vs one parallel region per run of
    /// CPU blocks (<see cref="SessionOptions.CpuRegions"/>), interleaved bursts so both see the same machine load; both
    /// sessions on one worker pool (two pools would spin against each other).</summary>
    static SegmentRow? MeasureSegments(BnnModel m, int batch, string config, double seconds, ExecutionResources res)
    {
        var blocks = BlockCompiler.Compile(m);
        var names = config.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length != 1 && names.Length != blocks.Count)
            throw new HepBnnException($"--segment-configs '{config}': {names.Length} configurations for {m.Name}'s {blocks.Count} blocks (give one, or one per block)");
        var plan = Enumerable.Range(0, blocks.Count).Select(i => ConfigurationRegistry.Find(names[names.Length == 1 ? 0 : i])).ToArray();
        if (plan.Where((c, i) => !c.Supports(blocks[i])).Any()) return null;
        using var perBlock = new InferenceSession(m, blocks, plan, new SessionOptions { MaxBatch = batch, Gpu = GpuSelection.None, CpuRegions = false }, res);
        using var region = new InferenceSession(m, blocks, plan, new SessionOptions { MaxBatch = batch, Gpu = GpuSelection.None, CpuRegions = true }, res);
        var images = new byte[batch * m.InputShape.Elements];
        new Random(1).NextBytes(images);
        var scoresA = new int[batch * perBlock.ScoresPerImage];
        var scoresB = new int[batch * region.ScoresPerImage];
        var a = new List<double>();
        var b = new List<double>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // Warm-up long enough for tiered compilation to finish (call counting starts after 100 ms): with 20 runs, code
        // first used here (a configuration's runner) was still measured at tier 0 (Xeon run 2: 5x slower plans).
        var warm = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < 20 || warm.Elapsed.TotalMilliseconds < 400; i++) { perBlock.Run(images, batch, scoresA); region.Run(images, batch, scoresB); }
        if (!scoresA.AsSpan().SequenceEqual(scoresB)) throw new HepBnnException($"{m.Name} b{batch} {config}: one region and per-block fork-joins disagree");
        while (clock.Elapsed.TotalSeconds < seconds || a.Count < 40)
            foreach (var (session, list, scores) in new[] { (perBlock, a, scoresA), (region, b, scoresB) })
                for (int i = 0; i < 10; i++)
                {
                    long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    session.Run(images, batch, scores);
                    list.Add(System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
                }
        var sa = TimingStats.From(a.ToArray());
        var sb = TimingStats.From(b.ToArray());
        double ma = sa.MedianUs, mb = sb.MedianUs;
        return new SegmentRow(m.Name, batch, config, blocks.Count, ma, mb, (ma - mb) / Math.Max(1, blocks.Count - 1))
            { PerBlockP90Us = sa.P90Us, OneRegionP10Us = sb.P10Us, OneRegionP90Us = sb.P90Us, Trace = TraceRegion(region, images, batch, scoresB, res.CpuWorkers) };
    }

    /// <summary>HEPBNN_POOL_TRACE=1: 2000 back-to-back runs of the region session, split into the caller's share (publish
    /// → its part and every block done), the join (→ every helper that started is done), the latest helper start after
    /// the publish and the helpers skipped (not started when the work was done); medians over all runs vs over the
    /// slowest tenth.</summary>
    static string? TraceRegion(InferenceSession session, byte[] images, int batch, int[] scores, CpuWorkerPool pool)
    {
        if (pool.Trace is not { } trace) return null;
        trace.Clear();
        var total = new double[2000];
        for (int i = 0; i < total.Length; i++)
        {
            long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            session.Run(images, batch, scores);
            total[i] = System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        var jobs = trace.Jobs();
        if (jobs.Count != total.Length) return $"{jobs.Count} pool jobs for {total.Length} runs (not one region per run)";
        double p90 = TimingStats.From(total).P90Us;
        string Of(IEnumerable<int> runs)
        {
            var r = runs.ToList();
            double M(Func<int, double> f) => TimingStats.From(r.Select(f).ToList()).MedianUs;
            return $"run {M(i => total[i]):F1}, caller {M(i => jobs[i].WorkUs):F1}, join {M(i => jobs[i].JoinUs):F2}, latest start {M(i => jobs[i].LatestStartUs):F2}, " +
                   $"last helper +{M(i => jobs[i].LastHelperUs):F2}, skipped {r.Average(i => jobs[i].Skipped):F2} of {jobs[r[0]].Helpers}";
        }
        var all = Enumerable.Range(0, total.Length);
        return $"all: {Of(all)} | slowest 10%: {Of(all.Where(i => total[i] >= p90))} | max run {total.Max():F0}";
    }

    public static Command Create()
    {
        var model = new Option<string[]>("--model", "-m") { Description = "built-in models or files whose CPU blocks to rate", DefaultValueFactory = _ => ["vgg3"], AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int[]>("--batch", "-b") { Description = "batch sizes", DefaultValueFactory = _ => [1], AllowMultipleArgumentsPerToken = true };
        var threads = new Option<int[]>("--fork-threads") { Description = "thread counts for the fork-join measure", DefaultValueFactory = _ => [1, 2, 8, 16], AllowMultipleArgumentsPerToken = true };
        var budget = new Option<double>("--budget-ms") { Description = "ms per block × configuration measurement", DefaultValueFactory = _ => 60 };
        var segmentConfigs = new Option<string[]>("--segment-configs") { Description = "configurations (one for every block, or a comma-separated one per block) whose whole-model latency is measured with one fork-join per block vs one parallel region", DefaultValueFactory = _ => ["cpu.mt-rows", "cpu.mt-pixels"], AllowMultipleArgumentsPerToken = true };
        var configs = new Option<string[]>("--configs") { Description = "only these CPU configurations for the block table (default: every one)", AllowMultipleArgumentsPerToken = true };
        var variants = new Option<bool>("--fork-variants") { Description = "also measure the fork-join and region costs with the pool's earlier hand-off and each change alone, alternated twice" };
        var forkOnly = new Option<bool>("--fork-only") { Description = "only the fork-join measurements (no peaks, kernel scaling, segments or blocks)" };
        var segmentsOnly = new Option<bool>("--segments-only") { Description = "only the whole-model table of --segment-configs (per-block fork-joins vs one region), e.g. to compare given plans in one process" };
        var blocksOnly = new Option<bool>("--blocks-only") { Description = "only the block table, without peaks (no fraction of peak; the parallel efficiency stays): a short run for A/B comparisons" };
        var jsonOut = CommonOptions.JsonOut();
        var cmd = new Command("roofline", "measure the CPU's peak binary word-op rate per popcount route, the fork-join cost, and each CPU block's fraction of the peak")
            { model, batch, threads, budget, configs, segmentConfigs, variants, forkOnly, blocksOnly, segmentsOnly, jsonOut };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var cpu = CpuFeatures.Detect();
            using var res = new ExecutionResources(gpu: GpuSelection.None);
            var pool = res.CpuWorkers;
            var report = new Report(cpu.Model, pool.Threads, MachineLoad.OneMinute(), [], [], []);
            var peaks = new Dictionary<(BlockedIsa, int), double>();
            bool forkOnlyRun = r.GetValue(forkOnly), segmentsOnlyRun = r.GetValue(segmentsOnly) && !forkOnlyRun,
                blocksOnlyRun = (r.GetValue(blocksOnly) || segmentsOnlyRun) && !forkOnlyRun; // segments-only: the short path's skips, then stop after the segments
            foreach (var isa in new[] { BlockedIsa.Popcnt, BlockedIsa.Avx2, BlockedIsa.Avx512 })
            {
                if (forkOnlyRun || blocksOnlyRun) break;
                if (!CpuRoofline.Available(isa)) continue;
                foreach (int t in new[] { 1, pool.Threads }.Distinct())
                {
                    double g = CpuRoofline.PeakGops(isa, t, pool);
                    peaks[(isa, t)] = g;
                    report.Peaks.Add(new PeakRow(isa.ToString().ToLowerInvariant(), t, g));
                }
            }
            foreach (int t in r.GetValue(threads)!.Where(t => t <= pool.Threads && !blocksOnlyRun))
            {
                var s = CpuRoofline.ForkJoin(pool, t);
                double one = CpuRoofline.Region(pool, t, 1).MedianUs, nine = CpuRoofline.Region(pool, t, 9).MedianUs;
                report.ForkJoin.Add(new ForkJoinRow(t, s.MedianUs, s.P90Us, one, (nine - one) / 8));
            }
            // printed before the (longer) block measurements, so that a time limit still leaves these
            AnsiConsole.MarkupLine($"{Markup.Escape(cpu.Model)}, {pool.Threads} threads, load average {report.LoadAverage:F1}");
            var pt2 = new Table().AddColumns("route", "threads", "peak G word-ops/s");
            foreach (var p in report.Peaks) pt2.AddRow(p.Route, p.Threads.ToString(), p.GWordOpsPerS.ToString("F2"));
            if (report.Peaks.Count > 0) AnsiConsole.Write(pt2); // none measured with --fork-only, --blocks-only, --segments-only
            var ft = new Table().AddColumns("fork-join threads", "median µs", "p90 µs", "region of 1 block µs", "per block boundary in a region µs");
            foreach (var f in report.ForkJoin) ft.AddRow(f.Threads.ToString(), f.MedianUs.ToString("F2"), f.P90Us.ToString("F2"), f.RegionUs.ToString("F2"), f.BoundaryUs.ToString("F2"));
            if (report.ForkJoin.Count > 0) AnsiConsole.Write(ft);
            if (r.GetValue(variants))
            {
                foreach (var (v, round, t, f, one, boundary) in CpuRoofline.ForkJoinVariants(pool, r.GetValue(threads)!.Where(t => t <= pool.Threads).ToList()))
                    report.ForkVariants.Add(new ForkVariantRow(v.Name, round, t, f.MedianUs, f.P90Us, one, boundary));
                var vt = new Table().AddColumns("pool hand-off (alternated)", "round", "threads", "For median µs", "For p90 µs", "region of 1 block µs", "per block boundary µs");
                foreach (var x in report.ForkVariants)
                    vt.AddRow(Markup.Escape(x.Variant), x.Round.ToString(), x.Threads.ToString(), x.ForMedianUs.ToString("F2"), x.ForP90Us.ToString("F2"), x.RegionUs.ToString("F2"), x.BoundaryUs.ToString("F2"));
                AnsiConsole.Write(vt);
            }
            if (forkOnlyRun)
            {
                JsonOut.WriteFile(report, r.GetValue(jsonOut));
                return 0;
            }
            if (pool.Threads > 1 && (Simd512Kernel.IsSupported || Simd256Kernel.IsSupported) && !blocksOnlyRun)
            {
                string kernel = Simd512Kernel.IsSupported ? "simd512" : "simd256";
                var shapes = r.GetValue(model)!.SelectMany(n => BlockCompiler.Compile(CommonOptions.LoadModel(n, 1)))
                    .Where(b => b.Input == BlockInput.Bits && !b.IsDense && b.Output == BlockOutput.Bits)
                    .Select(b => (Patch: CpuRoofline.PatchWords(b), Words: b.OutputShape.ChannelWords)).Distinct().ToList();
                foreach (var (patch, words) in shapes)
                {
                    double G(int t, int w) => kernel == "simd512" ? CpuRoofline.KernelPeakGops<Simd512Kernel>(patch, t, pool, 0.1, w, aggregate: true)
                                                                   : CpuRoofline.KernelPeakGops<Simd256Kernel>(patch, t, pool, 0.1, w, aggregate: true);
                    report.KernelScaling.Add(new KernelScalingRow(kernel, patch, words, G(1, 1), G(pool.Threads, 1), G(1, words), G(pool.Threads, words), pool.Threads));
                }
                var kt = new Table().AddColumns("kernel", "patch words", "output words", "1 thread, L1 weights", "all threads, L1 weights", "scaling",
                    "1 thread, block's weights", "all threads, block's weights", "scaling");
                foreach (var k in report.KernelScaling)
                    kt.AddRow(k.Kernel, k.PatchWords.ToString(), k.OutputWords.ToString(), k.OneThreadL1.ToString("F2"), k.AllThreadsL1.ToString("F2"),
                        $"{k.ScalingL1:F1}x / {k.Threads}", k.OneThreadBlockWeights.ToString("F2"), k.AllThreadsBlockWeights.ToString("F2"), $"{k.ScalingBlockWeights:F1}x / {k.Threads}");
                AnsiConsole.MarkupLine("kernel scaling (G word-ops/s of the carry-save kernel on each block shape, all threads' work over the wall time, weights in L1 vs at the block's size):");
                AnsiConsole.Write(kt);
            }
            double bestSingle = peaks.Where(p => p.Key.Item2 == 1).Select(p => p.Value).DefaultIfEmpty(double.NaN).Max();
            double bestAll = peaks.Where(p => p.Key.Item2 == pool.Threads).Select(p => p.Value).DefaultIfEmpty(double.NaN).Max();
            foreach (var name in r.GetValue(model)!)
            {
                var m = CommonOptions.LoadModel(name, 1);
                foreach (int b in r.GetValue(batch)!)
                    foreach (var c in r.GetValue(segmentConfigs)!)
                        if ((!blocksOnlyRun || segmentsOnlyRun) && MeasureSegments(m, b, c, r.GetValue(budget) * 10 / 1000, res) is { } row)
                        {
                            report.Segments.Add(row);
                            if (segmentsOnlyRun) // as they come: a time limit still leaves the rows measured so far
                                Console.WriteLine($"segment {row.Model} b{row.Batch} {row.Configuration}: per-block fork-joins {row.PerBlockForkJoinUs:F1} µs, one region {row.OneRegionUs:F1} ({row.OneRegionP10Us:F1}..{row.OneRegionP90Us:F1}){(row.Trace is { } tr ? "; trace " + tr : "")}");
                        }
            }
            var st = new Table().AddColumns("model", "batch", "configuration", "blocks", "fork-join per block µs (p90)", "one region µs (p10..p90)", "saved per block boundary µs");
            foreach (var x in report.Segments)
                st.AddRow(x.Model, x.Batch.ToString(), x.Configuration, x.Blocks.ToString(), $"{x.PerBlockForkJoinUs:F1} ({x.PerBlockP90Us:F1})",
                    $"{x.OneRegionUs:F1} ({x.OneRegionP10Us:F1}..{x.OneRegionP90Us:F1})", x.SavedPerBoundaryUs.ToString("F2"));
            AnsiConsole.Write(st);
            foreach (var x in report.Segments.Where(x => x.Trace is not null))
                Console.WriteLine($"region trace {x.Model} b{x.Batch} {x.Configuration}: {x.Trace}");
            if (segmentsOnlyRun)
            {
                JsonOut.WriteFile(report, r.GetValue(jsonOut));
                return 0;
            }
            var census = ThreadCensus.Take(); // the threads' placement and preemptions around the block measurements
            var kernelPeaks = new Dictionary<(string, int, int), double>();
            var only = r.GetValue(configs) is { Length: > 0 } list ? list.Select(n => ConfigurationRegistry.Find(n).Name).ToHashSet() : null;
            foreach (var name in r.GetValue(model)!)
            {
                var m = CommonOptions.LoadModel(name, 1);
                foreach (int b in r.GetValue(batch)!)
                    foreach (var t in BlockBenchmark.Run(BlockCompiler.Compile(m), b, res, c => c.Device == DeviceKind.Cpu && (only is null || only.Contains(c.Name)), new BenchmarkPolicy(r.GetValue(budget), PruneFactor: 4)))
                    {
                        var block = BlockCompiler.Compile(m)[t.Block];
                        long ops = CpuRoofline.WordOps(block, b);
                        if (ops == 0 || t.Pruned || t.Kernel.MedianUs <= 0) continue; // image layer (8-bit), abandoned as > 4x slower than the best, or too fast for the clock
                        if (ConfigurationRegistry.Find(t.Configuration) is not CpuConfiguration config) continue;
                        int pt = config.ThreadsOn(pool.Threads);
                        string route = "best";
                        double peak = pt == 1 ? bestSingle : bestAll;
                        if (config.KernelName is { } kernel)
                        {
                            // the carry-save kernel on its own mix and this block's patch length (measured once per shape)
                            var key = (kernel, CpuRoofline.PatchWords(block), pt);
                            if (blocksOnlyRun) peak = double.NaN;
                            else if (!kernelPeaks.TryGetValue(key, out peak))
                                kernelPeaks[key] = peak = CpuRoofline.KernelPeakGops(kernel, key.Item2, pt, pool);
                            route = $"{kernel} on {key.Item2}-word patches";
                        }
                        else
                            foreach (var isa in Enum.GetValues<BlockedIsa>())
                                if (config.Name.StartsWith($"cpu.rb-{isa.ToString().ToLowerInvariant()}") && peaks.TryGetValue((isa, pt), out var p)) { route = isa.ToString().ToLowerInvariant(); peak = p; }
                        double g = ops / t.Kernel.MedianUs / 1e3;
                        report.Blocks.Add(new BlockRow(m.Name, b, t.BlockName, t.Configuration, t.Kernel.MedianUs, ops, g, route, pt, g / peak));
                    }
            }
            // Parallel efficiency of multi-threaded rows against the same kernel (same route) on one thread, where measured.
            foreach (var x in report.Blocks.Where(x => x.PeakThreads > 1 && x.PeakRoute != "best"))
                if (report.Blocks.FirstOrDefault(o => o.PeakThreads == 1 && o.Model == x.Model && o.Batch == x.Batch && o.Block == x.Block
                        && o.PeakRoute == x.PeakRoute) is { } one)
                    x.ParallelEfficiency = one.MedianUs / (x.PeakThreads * x.MedianUs);
            JsonOut.WriteFile(report, r.GetValue(jsonOut));
            var bt = new Table().AddColumns("model", "batch", "block", "configuration", "median µs", "G word-ops/s", "peak (route, threads)", "fraction of peak", "vs 1 thread");
            foreach (var x in report.Blocks)
                bt.AddRow(x.Model, x.Batch.ToString(), x.Block, x.Configuration, x.MedianUs.ToString("F1"), x.GWordOpsPerS.ToString("F2"),
                    $"{x.PeakRoute}, {x.PeakThreads}", x.FractionOfPeak.ToString("P0"), double.IsNaN(x.ParallelEfficiency) ? "" : x.ParallelEfficiency.ToString("P0"));
            AnsiConsole.Write(bt);
            if (ThreadCensus.Summary(census, ThreadCensus.Take()) is { } census2) AnsiConsole.WriteLine(census2);
            return 0;
        }));
        return cmd;
    }
}
