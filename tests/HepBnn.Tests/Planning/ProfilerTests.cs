using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Reference;
using HepBnn.Runtime;
namespace HepBnn.Tests.Planning;

/// <summary>Profile → map → run end to end on small random networks with tiny budgets.</summary>
public class ProfilerTests
{
    [Fact]
    public void ProfileMapRunEndToEnd()
    {
        foreach (int seed in new[] { 3, 17 })
        {
            var model = RandomNetworks.Generate(seed);
            var blocks = BlockCompiler.Compile(model);
            using var res = new ExecutionResources(2);
            var steps = new List<ProfileProgress>();
            var profile = Profiler.Run(model, 2, res, ProfileOptions.Quick, steps.Add);

            Assert.Equal(ModelHash.Compute(model), profile.ModelHash);
            Assert.Equal(blocks.Count, profile.Blocks.Count);
            foreach (var b in blocks)
            {
                var expected = BlockBenchmark.Candidates(b, res, _ => true).Select(c => c.Name).Order(); // gpu.fused is profiled per range
                Assert.Equal(expected, profile.Blocks[b.Index].Configurations.Select(c => c.Configuration).Order());
                Assert.All(profile.Blocks[b.Index].Configurations, c => Assert.True(c.MedianUs > 0 && c.P10Us <= c.MedianUs && c.MedianUs <= c.P90Us && c.Samples >= 1,
                    $"seed {seed}, block {b.Name}, {c.Configuration}: bad stats {c.MedianUs} [{c.P10Us}..{c.P90Us}] n={c.Samples}"));
                Assert.Equal(b.InputBufferWords(2), profile.Blocks[b.Index].InputWords);
            }
            Assert.Equal(res.TryOpen(DeviceKind.Gpu), profile.Transfers.Count > 0);
            // CPU regions (on by default): each CPU timing says its threads, and every parallel thread count has its
            // region's hand-off measured, which the cost table prices.
            var cpuTimings = profile.Blocks.SelectMany(b => b.Configurations).Where(c => c.Device == DeviceKind.Cpu).ToList();
            Assert.All(cpuTimings, c => Assert.InRange(c.Threads, 1, res.CpuWorkers.Threads));
            Assert.Equal(cpuTimings.Select(c => c.Threads).Where(t => t > 1).Distinct().Order(), (profile.CpuRegions ?? []).Select(r => r.Threads).Order());
            Assert.All(profile.CpuRegions ?? [], r => Assert.True(r.MedianUs > 0, $"region of {r.Threads} threads: {r.MedianUs} µs"));
            Assert.NotNull(profile.Calibration);
            Assert.NotEmpty(profile.Calibration!.Points);
            Assert.True(profile.ProfilingSeconds > 0);
            Assert.NotEmpty(steps);
            Assert.True(steps.Zip(steps.Skip(1)).All(p => p.First.Done <= p.Second.Done + 1e-9), "progress went backwards");
            Assert.Equal(steps[^1].Total, steps[^1].Done, 6);

            var path = Path.Combine(Path.GetTempPath(), $"hepbnn-profile-{Guid.NewGuid():N}.json");
            try
            {
                ProfileFile.Save(profile, path);
                var back = ProfileFile.Load(path, model, 2);
                Assert.Equal(PlanningJson.Serialize(profile), PlanningJson.Serialize(back));
                Assert.IsType<PlanMismatchException>(Assert.ThrowsAny<HepBnnException>(() => ProfileFile.Load(path, model, 3)));
                Assert.IsType<PlanMismatchException>(Assert.ThrowsAny<HepBnnException>(() => ProfileFile.Load(path, RandomNetworks.Generate(seed + 1), 2)));
                Assert.IsType<PlanMismatchException>(Assert.ThrowsAny<HepBnnException>(() => ProfileFile.Load(path, model, 2, "cpu=elsewhere")));
            }
            finally { File.Delete(path); }

            var plans = Planner.Map(profile, 3);
            Assert.InRange(plans.Count, 1, 3);
            var table = CostModel.Build(profile);
            Assert.Equal(PlanOptimizer.Best(table)!.PredictedUs, plans[0].PredictedTotalUs, 6);
            Assert.Equal(plans[0].PredictedTotalUs, plans[0].Blocks.Sum(b => b.PredictedUs) + plans[0].OutputTransferUs + plans[0].OverheadUs, 6);
            var images = ModelZoo.RandomImages(model.InputShape, 5, seed);
            using var session = new InferenceSession(model, plans[0]);
            var (agree, total) = ReferenceAgreement.Check(session, images, 5);
            Assert.True(agree == total, $"seed {seed}: planned session agrees with the reference on {agree}/{total} images");
        }
    }

    [Fact]
    public void VerdictMeasuresFoundPlanAndBaselines()
    {
        var model = RandomNetworks.Generate(5);
        using var res = new ExecutionResources(2);
        var profile = Profiler.Run(model, 1, res, ProfileOptions.Quick);
        var v = VerdictRunner.Run(model, profile, res, new VerdictOptions { TopK = 3, BudgetSeconds = 0.01, MinRounds = 3 });
        Assert.StartsWith("found plan", v.Rows[0].Label);
        Assert.Equal(1.0, v.Rows[0].VsPlan!.Value, 9);
        // "vs found plan" is the ratio of the medians it is printed next to (issue 13: it was the paired ratio)
        foreach (var r in v.Rows.Where(r => r.Measured is not null))
            Assert.Equal(r.Measured!.Value.MedianUs / v.Rows[0].Measured!.Value.MedianUs, r.VsPlan!.Value, 9);
        Assert.Equal(v.Plan.Configurations, v.Rows[0].Configurations);
        Assert.Contains(v.Rows, r => r.Label == Baselines.AllOn(DeviceKind.Cpu) && r.Measured is not null);
        Assert.Contains(v.Rows, r => r.Label.StartsWith("best single configuration") && r.Measured is not null);
        var fullyParallel = v.Rows.Single(r => r.Label.Contains(Baselines.FullyParallelGpu));
        if (!res.TryOpen(DeviceKind.Gpu)) Assert.Equal("skipped: no GPU on this machine", fullyParallel.Note);
        Assert.All(v.Rows.Where(r => r.Measured is not null), r => Assert.True(r.Measured!.Value.Samples >= 3));
        Assert.InRange(v.MeasuredBestRank, 1, 3);
        // The verdict holds the found plan against every measured row, baselines included.
        var beating = Verdict.Beating(v.Rows, 0.03);
        Assert.Equal(beating is null, v.PlanIsMeasuredBest);
        Assert.Equal(beating?.Label, v.BeatenBy);
    }

    [Fact]
    public void VerdictNamesABaselineThatBeatsTheFoundPlan()
    {
        static VerdictRow Row(string label, double? vs, string config = "cpu.scalar") => new(label, [config, "cpu.scalar"], 10, new TimingStats(10, 9, 11, 5), vs, null);
        var rows = new[] { Row("found plan (top-1)", 1), Row("top-2", 1.2, "cpu.simd256"), Row("all-GPU fully parallel (gpu.thread-per-output)", 1 / 1.14, "gpu.thread-per-output"),
                           Row("all-CPU best", 0.99, "cpu.mt-rows") };
        var beating = Verdict.Beating(rows, 0.03);
        Assert.NotNull(beating);
        Assert.Equal("all-GPU fully parallel (gpu.thread-per-output)", beating.Label);
        // Within the 3% tolerance nothing beats the found plan; rows without a measurement never do.
        Assert.Null(Verdict.Beating([Row("found plan (top-1)", 1), Row("top-2", 0.98, "cpu.simd256"), Row("skipped", null, "cpu.mt-rows")], 0.03));
        // The found plan run another way (CUDA graphs off) is the same plan, not a better one.
        Assert.Null(Verdict.Beating([Row("found plan (top-1)", 1), Row("found plan, CUDA graphs off (eager launches)", 0.5)], 0.03));
    }

    [Fact]
    public void VerdictNamesAFasterWayToRunTheFoundPlan()
    {
        static VerdictRow Row(string label, double paired) => new(label, ["gpu.tensor-core"], 10, new TimingStats(10, 9, 11, 5), paired, null) { PairedRatio = paired };
        var rows = new[] { Row("found plan (top-1)", 1), Row("found plan, CUDA graphs off (eager launches)", 1.3),
                           Row("found plan, dependent launch off (plain graph edges)", 1 / 1.11), Row("top-2", 0.5) };
        // a faster runner-up is a better plan (Beating), not a faster mode; the paired ratio decides, beyond the tolerance
        Assert.Equal("found plan, dependent launch off (plain graph edges)", Verdict.FasterModeRow(rows, 0.03)?.Label);
        Assert.Null(Verdict.FasterModeRow([Row("found plan (top-1)", 1), Row("found plan, dependent launch on (programmatic edges)", 0.98)], 0.03));
        Assert.Null(Verdict.FasterModeRow([Row("found plan (top-1)", 1), Row("found plan, CUDA graphs off (eager launches)", 1.5)], 0.03));
    }

    [Fact]
    public void AdaptiveMeasurementAbandonsHopelessCandidates()
    {
        int calls = 0;
        var (stats, abandoned) = TimingStats.MeasureAdaptive(() => { calls++; Thread.Sleep(2); }, budgetMs: 100, abandonAboveUs: 100);
        Assert.True(abandoned);
        Assert.InRange(stats.Samples, 1, 2);
        Assert.True(calls <= 3, $"{calls} runs of an abandoned candidate");
        // Sub-millisecond actions are measured fully whatever the limit (their first runs are JIT-dominated).
        var (tiny, tinyAbandoned) = TimingStats.MeasureAdaptive(() => Thread.SpinWait(20), budgetMs: 2, abandonAboveUs: 1e-3, minSamples: 3);
        Assert.False(tinyAbandoned);
        Assert.True(tiny.Samples >= 3);
        var (fast, gaveUp) = TimingStats.MeasureAdaptive(() => Thread.SpinWait(10), budgetMs: 5, minSamples: 4);
        Assert.False(gaveUp);
        Assert.True(fast.Samples >= 4);
    }
}
