using System.Diagnostics;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Planning;

/// <summary>Builds the candidate list (top-k by prediction and the baselines), measures every distinct plan in one
/// interleaved run and compares them with the found plan.</summary>
public static class VerdictRunner
{
    public static Verdict Run(BnnModel model, Profile profile, ExecutionResources res, VerdictOptions? options = null, Action<string>? status = null)
    {
        options ??= new VerdictOptions();
        var blocks = BlockCompiler.Compile(model);
        var table = CostModel.Build(profile);
        var top = PlanRanking.Top(profile, table, options.TopK);
        if (top.Count == 0) throw new HepBnnException($"no mapping of '{model.Name}' covers every block");
        var candidates = new List<(string Label, Mapping? Mapping, string? Note)>();
        for (int i = 0; i < top.Count; i++) candidates.Add((i == 0 ? "found plan (top-1)" : $"top-{i + 1}", top[i], null));
        bool gpu = res.TryOpen(DeviceKind.Gpu);
        var fullyParallel = Uniform(table, Baselines.FullyParallelGpu);
        candidates.Add(($"all-GPU fully parallel ({Baselines.FullyParallelGpu})", fullyParallel,
            fullyParallel is not null ? null : gpu ? $"skipped: {Baselines.FullyParallelGpu} was not profiled for every block" : "skipped: no GPU on this machine"));
        foreach (var d in Enum.GetValues<DeviceKind>())
        {
            var m = PlanOptimizer.Best(table, o => o.Device == d);
            candidates.Add((Baselines.AllOn(d), m, m is not null ? null : res.TryOpen(d) ? $"skipped: not every block runs on the {Baselines.Name(d)}" : $"skipped: no {Baselines.Name(d)} on this machine"));
        }
        // What fusing brings, in the same rounds: the best plan without fused ranges (per-block kernels, graphs as configured).
        var perBlock = PlanOptimizer.Best(table, o => o.Configuration != RangeOption.Configuration);
        candidates.Add(("best per-block plan (no fused GPU range)", perBlock, perBlock is not null ? null : "skipped: no mapping without fused ranges"));
        var wholeFused = Uniform(table, RangeOption.Configuration);
        candidates.Add(("whole network fused on the GPU (gpu.fused, one kernel)", wholeFused,
            wholeFused is not null ? null : gpu ? "skipped: the whole-network fused range was not profiled" : "skipped: no GPU on this machine"));
        var single = Calibrator.BestSingleConfiguration(table);
        candidates.Add(($"best single configuration{(single is null ? "" : $" ({single.Configurations[0]})")}", single, single is null ? "skipped: no configuration covers every block" : null));

        // The found plan as a session built from it runs: with the host I/O the profile measured fastest for it (unless
        // HEPBNN_MAPPED_IO names one). Every plan is measured with that host I/O, so rows differ only in their blocks.
        var plan = Planner.ToPlan(profile, table, top[0]);
        var foundIo = GpuHostIoSwitch.ExplicitFromEnvironment() ?? plan.HostIo ?? GpuHostIo.Copies;
        // Likewise its graph edges: the plan's measured choice unless HEPBNN_PDL names one (every plan runs with them).
        bool foundPdl = GpuDependentLaunch.ExplicitFromEnvironment() ?? plan.DependentLaunch ?? res.DependentLaunch;
        var distinct = new List<Mapping>();
        foreach (var c in candidates)
            if (c.Mapping is { } m && !distinct.Any(x => x.SameAs(m))) distinct.Add(m);
        // With graphs on, the found plan also runs with them off in the same rounds: what the graphs bring, paired.
        bool eagerRow = GraphTiming.Enabled(res, DeviceKind.Gpu) && top[0].Configurations.Any(c => ConfigurationRegistry.Find(c).Device == DeviceKind.Gpu);
        var plans = distinct.Select(m => (IReadOnlyList<string>)m.Configurations).ToList();
        var graphs = distinct.Select(_ => (bool?)null).ToList(); // as the resources say (HEPBNN_CUDA_GRAPHS)
        var pdl = distinct.Select(_ => (bool?)foundPdl).ToList();
        if (eagerRow) { plans.Add(top[0].Configurations); graphs.Add(false); pdl.Add(foundPdl); }
        // Where graphs can have programmatic edges, also the found plan with the other dependent-launch setting (the same
        // graph with plain edges, or with programmatic ones): what dependent launch brings or costs, paired.
        bool pdlRow = eagerRow && CudaGraph.ProgrammaticEdgesProblem(res.RequireGpu()) is null;
        if (pdlRow) { plans.Add(top[0].Configurations); graphs.Add(null); pdl.Add(!foundPdl); }
        // And with the other two ways of moving input and output (copies / mapped host output / mapped input and output),
        // where the GPU can map host memory: what the planner's host I/O choice brings, paired.
        var io = plans.Select(_ => (GpuHostIo?)foundIo).ToList();
        bool ioRows = eagerRow && GpuHostIoSwitch.Unsupported(res.RequireGpu()) is null;
        var otherIo = ioRows ? new[] { GpuHostIo.Copies, GpuHostIo.MappedOutput, GpuHostIo.Mapped }.Where(m => m != foundIo).ToArray() : [];
        foreach (var mode in otherIo) { plans.Add(top[0].Configurations); graphs.Add(null); pdl.Add(foundPdl); io.Add(mode); }
        status?.Invoke($"measuring {plans.Count} plans, interleaved");
        var images = ModelZoo.RandomImages(model.InputShape, profile.Batch, options.Seed);
        double loadBefore = Devices.MachineLoad.OneMinute();
        var clock = Stopwatch.StartNew();
        // Every measured plan's scores (first samples of the batch) are checked against the reference, so a fast plan
        // that computes the wrong thing (e.g. a broken graph capture) cannot win silently.
        int checkedSamples = Math.Min(profile.Batch, 2);
        var expected = Enumerable.Range(0, checkedSamples).Select(n =>
            Reference.ReferenceEngine.RawScores(model, images.AsSpan((int)(n * model.InputShape.Elements), (int)model.InputShape.Elements))).ToArray();
        var mismatches = new List<string>();
        string? gpuExecution = null;
        int foundIndex = distinct.FindIndex(x => x.SameAs(top[0]));
        var samples = PlanBenchmark.Samples(model, blocks, plans,
            profile.Batch, res, images, options.BudgetSeconds * 1000, options.MinRounds,
            afterRound: (r, ms) => { if (r % 10 == 0) status?.Invoke($"measuring {distinct.Count} plans, interleaved: round {r}, {ms / 1000:F1} s"); },
            cudaGraphs: graphs, dependentLaunch: pdl, hostIo: io,
            afterMeasuring: (p, session, scores) =>
            {
                if (p == foundIndex) gpuExecution = session.GpuExecution;
                for (int n = 0; n < checkedSamples; n++)
                    for (int k = 0; k < expected[n].Length; k++)
                        if (scores[n * session.ScoresPerImage + k] != expected[n][k])
                        {
                            mismatches.Add($"[{string.Join(", ", plans[p])}] sample {n} class {k}: expected {expected[n][k]}, got {scores[n * session.ScoresPerImage + k]} ({session.GpuExecution})");
                            n = checkedSamples;
                            break;
                        }
            });
        double measuringSeconds = clock.Elapsed.TotalSeconds;
        var measured = samples.Select(TimingStats.From).ToList();
        int found = distinct.FindIndex(x => x.SameAs(top[0]));
        TimingStats Of(Mapping m) => measured[distinct.FindIndex(x => x.SameAs(m))];

        double planUs = Of(top[0]).MedianUs;
        var rows = new List<VerdictRow>();
        var firstLabel = new Dictionary<int, string>();
        foreach (var (label, m, note) in candidates)
        {
            if (m is null) { rows.Add(new VerdictRow(label, null, double.NaN, null, null, note)); continue; }
            int id = distinct.FindIndex(x => x.SameAs(m));
            string? same = firstLabel.TryGetValue(id, out var first) ? $"same plan as {first}" : null;
            firstLabel.TryAdd(id, label);
            var stats = measured[id];
            rows.Add(new VerdictRow(label, m.Configurations, m.SameAs(top[0]) ? plan.PredictedTotalUs : m.PredictedUs, stats, stats.MedianUs / planUs, same)
                { PairedRatio = PlanBenchmark.PairedRatio(samples[id], samples[found]) });
        }
        int ioAt = plans.Count - otherIo.Length, pdlAt = ioAt - (pdlRow ? 1 : 0), eagerAt = pdlAt - 1;
        VerdictRow ModeRow(string label, int at, string note) =>
            new(label, top[0].Configurations, double.NaN, measured[at], measured[at].MedianUs / planUs, note)
            { PairedRatio = PlanBenchmark.PairedRatio(samples[at], samples[found]) };
        for (int k = otherIo.Length - 1; k >= 0; k--)
            rows.Insert(1, otherIo[k] switch
            {
                GpuHostIo.Copies => ModeRow("found plan, copies (host↔device memcpy nodes)", ioAt + k, "same plan, the input copied to the GPU and the output back"),
                GpuHostIo.MappedOutput => ModeRow("found plan, mapped host output (no device→host node)", ioAt + k, "same plan, the last kernel writes the output in page-locked host memory"),
                _ => ModeRow("found plan, mapped host input and output (no copy nodes)", ioAt + k, "same plan, kernels read the input and write the output in page-locked host memory"),
            });
        if (pdlRow)
            rows.Insert(1, ModeRow(foundPdl ? "found plan, dependent launch off (plain graph edges)" : "found plan, dependent launch on (programmatic edges)",
                pdlAt, foundPdl ? "same plan and graph, each kernel launched after the previous one ends"
                                           : "same plan and graph, each kernel launched while the previous one runs"));
        if (eagerRow)
            rows.Insert(1, ModeRow("found plan, CUDA graphs off (eager launches)", eagerAt, "same plan, each block launched on the stream"));
        // Paired per-round ratios against the found plan: < 1 means that plan ran faster in the same rounds.
        var ratios = top.Select(m => PlanBenchmark.PairedRatio(samples[distinct.FindIndex(x => x.SameAs(m))], samples[found])).ToList();
        int bestRank = 1 + ratios.Select((r, i) => (r, i)).MinBy(x => x.r).i;
        // The found plan must hold against every plan measured, baselines included, not only its runners-up.
        var beating = Verdict.Beating(rows, options.Tolerance);
        var fasterMode = Verdict.FasterModeRow(rows, options.Tolerance);
        return new Verdict(model.Name, profile.Batch, profile.Platform, plan, rows, plan.PredictedTotalUs, planUs,
            (plan.PredictedTotalUs - planUs) / planUs, bestRank, beating is null,
            profile.ProfilingSeconds, measuringSeconds, loadBefore, Devices.MachineLoad.OneMinute())
        {
            BeatenBy = beating?.Label,
            BeatenByFactor = beating is null ? null : 1 / beating.VsPlan!.Value,
            FasterMode = fasterMode?.Label,
            FasterModeFactor = fasterMode is null ? null : 1 / fasterMode.PairedRatio,
            GpuExecution = gpuExecution,
            ReferenceMismatches = mismatches,
            HostIoMeasured = HostIoChoice.Measured(profile).ToList(),
        };
    }

    /// <summary>The same configuration for every block, if it was profiled for all of them.</summary>
    static Mapping? Uniform(CostTable table, string name) =>
        table.Options.All(b => b.Any(o => o.Configuration == name)) ? Mapping.Of(table, table.Choice(Enumerable.Repeat(name, table.BlockCount).ToArray())) : null;
}
