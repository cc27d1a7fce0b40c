using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Runtime;

namespace HepBnn.Tests.Planning;

/// <summary>The planner picks a plan's GPU host I/O (copies, mapped output, mapped input and output) from the profile's
/// measurement of that very plan (<see cref="HostIoTiming"/>), takes the measured saving off the prediction, and the plan
/// file carries the choice (older files without it read as before).</summary>
public class HostIoChoiceTests
{
    static readonly BnnModel Model = Formats.FormatTestModels.Tiny(1);
    const string Gpu = "gpu.thread-per-output";

    /// <summary>Every block: cpu.scalar 100 µs, the GPU configuration 5 µs, transfers 3 µs each way: the found plan is all-GPU.</summary>
    /// <param name="lastCpuUs">the last block's CPU time (with 1 µs, running it on the CPU saves 4 µs against the GPU
    /// and its D2H copy of the scores, so the found plan by copies is the GPU for all blocks but the last).</param>
    static Profile MakeProfile(HostIoTiming? hostIo = null, double lastCpuUs = 100, IReadOnlyList<HostIoTiming>? others = null)
    {
        var blocks = BlockCompiler.Compile(Model);
        var profiles = blocks.Select((b, i) => new BlockProfile(i, b.Name, 10, 10,
        [
            new ConfigurationTiming("cpu.scalar", DeviceKind.Cpu, i == blocks.Count - 1 ? lastCpuUs : 100, 100, 100, 5, false),
            new ConfigurationTiming(Gpu, DeviceKind.Gpu, 5, 5, 5, 5, false),
        ])).ToList();
        var transfers = Enumerable.Range(0, blocks.Count + 1).SelectMany(k => new[]
        {
            new TransferProfile(k, DeviceKind.Gpu, TransferDirection.HostToDevice, 10, 3, 3, 3, 5),
            new TransferProfile(k, DeviceKind.Gpu, TransferDirection.DeviceToHost, 10, 3, 3, 3, 5),
        }).ToList();
        return new Profile(Profile.FormatId, Model.Name, ModelHash.Compute(Model), 1, PlanValidator.CurrentPlatform, DateTime.UtcNow, 1,
            profiles, transfers, null, false, HostIo: hostIo, HostIoOthers: others);
    }

    static string[] LastOnCpu => AllGpu.Select((c, i) => i == AllGpu.Length - 1 ? "cpu.scalar" : c).ToArray();

    static string[] AllGpu => Enumerable.Repeat(Gpu, BlockCompiler.Compile(Model).Count).ToArray();

    static HostIoTiming Timing(IReadOnlyList<string> configurations, double copiesUs, double outRatio, double allRatio,
        bool outMatches = true, bool allMatches = true) => new(configurations,
    [
        new HostIoModeTiming(GpuHostIo.Copies, copiesUs, copiesUs, copiesUs, 20, 1, true),
        new HostIoModeTiming(GpuHostIo.MappedOutput, copiesUs * outRatio, copiesUs * outRatio, copiesUs * outRatio, 20, outRatio, outMatches),
        new HostIoModeTiming(GpuHostIo.Mapped, copiesUs * allRatio, copiesUs * allRatio, copiesUs * allRatio, 20, allRatio, allMatches),
    ]);

    [Fact]
    public void WithoutAMeasurementThePlanCopiesAsBefore()
    {
        var plan = Planner.Map(MakeProfile())[0];
        Assert.Equal(AllGpu, plan.Configurations);
        Assert.Null(plan.HostIo);
        Assert.Equal(0, plan.HostIoSavingUs);
    }

    [Theory]
    [InlineData(0.90, 0.85, GpuHostIo.Mapped)]        // both faster: the fastest (paired) wins
    [InlineData(0.88, 0.95, GpuHostIo.MappedOutput)]
    [InlineData(0.99, 0.985, GpuHostIo.Copies)]       // within the 2% margin: copies stay
    [InlineData(1.10, 1.20, GpuHostIo.Copies)]        // slower (as VGG7 b256's mapped input): copies
    public void TheMeasuredFastestModeIsChosenAndPriced(double outRatio, double allRatio, GpuHostIo expected)
    {
        var copiesOnly = Planner.Map(MakeProfile())[0];
        var plan = Planner.Map(MakeProfile(Timing(AllGpu, 50, outRatio, allRatio)))[0];
        Assert.Equal(expected, plan.HostIo);
        double ratio = expected switch { GpuHostIo.Mapped => allRatio, GpuHostIo.MappedOutput => outRatio, _ => 1 };
        Assert.Equal(50 * (1 - ratio), plan.HostIoSavingUs, 9);
        // measured whole: predicted at the measurement in the chosen mode, not at the blocks' copies-priced sum
        Assert.True(plan.MeasuredWhileProfiling);
        Assert.False(copiesOnly.MeasuredWhileProfiling);
        Assert.Equal(50 * ratio, plan.PredictedTotalUs, 9);
        Assert.NotEqual(copiesOnly.PredictedTotalUs, plan.PredictedTotalUs, 3);
    }

    [Fact]
    public void AModeWhoseScoresDifferIsNeverChosen()
    {
        var plan = Planner.Map(MakeProfile(Timing(AllGpu, 50, 0.9, 0.5, outMatches: true, allMatches: false)))[0];
        Assert.Equal(GpuHostIo.MappedOutput, plan.HostIo);
        plan = Planner.Map(MakeProfile(Timing(AllGpu, 50, 0.9, 0.5, outMatches: false, allMatches: false)))[0];
        Assert.Equal(GpuHostIo.Copies, plan.HostIo);
    }

    [Fact]
    public void AMeasurementOfAnotherPlanDoesNotPriceThisOne()
    {
        // the other plan (its first block on the CPU, 100 µs) measured whole at 200 µs: it keeps its place behind the
        // all-GPU plan, which keeps its copies price and no host I/O choice
        var other = AllGpu.Select((c, i) => i == 0 ? "cpu.scalar" : c).ToArray();
        var plans = Planner.Map(MakeProfile(Timing(other, 200, 1, 1)), 2);
        Assert.Equal(AllGpu, plans[0].Configurations);
        Assert.Null(plans[0].HostIo);
        Assert.False(plans[0].MeasuredWhileProfiling);
        Assert.Equal(Planner.Map(MakeProfile())[0].PredictedTotalUs, plans[0].PredictedTotalUs);
        // measured faster than the all-GPU plan's price, the other plan takes first place at its measurement
        plans = Planner.Map(MakeProfile(Timing(other, 10, 1, 1)), 2);
        Assert.Equal(other, plans[0].Configurations);
        Assert.Equal(10, plans[0].PredictedTotalUs, 9);
        Assert.Equal(AllGpu, plans[1].Configurations);
    }

    [Fact]
    public void ARunnerUpThatGainsMoreFromMappedIoTakesTheFoundPlansPlace()
    {
        // By copies the last block on the CPU is 4 µs ahead of all-GPU; measured whole, the mixed plan runs 40 µs with
        // copies and 38 at best, the all-GPU plan 50 with copies and 35 with mapped input and output.
        var copies = Planner.Map(MakeProfile(lastCpuUs: 1), 2);
        Assert.Equal(LastOnCpu, copies[0].Configurations);
        Assert.Equal(AllGpu, copies[1].Configurations);
        Assert.Equal(copies[1].PredictedTotalUs - 4, copies[0].PredictedTotalUs, 9);
        var measured = MakeProfile(Timing(LastOnCpu, 40, 0.95, 0.95), lastCpuUs: 1, others: [Timing(AllGpu, 50, 0.9, 0.7)]);
        var plans = Planner.Map(measured, 2);
        Assert.Equal(AllGpu, plans[0].Configurations);
        Assert.Equal(GpuHostIo.Mapped, plans[0].HostIo);
        Assert.Equal(35, plans[0].PredictedTotalUs, 9);
        Assert.Equal(LastOnCpu, plans[1].Configurations);
        Assert.Equal(38, plans[1].PredictedTotalUs, 9);
        // the all-GPU plan measured slower than the mixed one leaves the order as priced with copies
        plans = Planner.Map(MakeProfile(Timing(LastOnCpu, 40, 0.95, 0.95), lastCpuUs: 1, others: [Timing(AllGpu, 50, 0.98, 0.97)]), 2);
        Assert.Equal(LastOnCpu, plans[0].Configurations);
        Assert.Equal(AllGpu, plans[1].Configurations);
    }

    [Fact]
    public void TheVerdictLineNamesEachMeasuredPlanAndItsPairedRatios()
    {
        var profile = MakeProfile(Timing(LastOnCpu, 40, 0.95, 0.95), lastCpuUs: 1, others: [Timing(AllGpu, 40, 0.85, 0.8, allMatches: false)]);
        var found = Planner.Map(profile)[0];
        var lines = HostIoChoice.Measured(profile).Select(m => HepBnn.Cli.Output.VerdictView.HostIoLine(m, found)).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains("candidate", lines[0]);
        Assert.Contains("copies 40.0 µs, mapped output 0.95x, mapped in+out 0.95x", lines[0]);
        Assert.Contains("found plan", lines[1]);
        Assert.Contains("mapped output 0.85x, mapped in+out 0.80x (scores differ)", lines[1]);
        Assert.Equal(AllGpu, found.Configurations);
    }

    [Fact]
    public void TheCandidatesAreTheBestOfEachPlacementAndAlwaysTheBestAllGpuPlan()
    {
        var table = CostModel.Build(MakeProfile(lastCpuUs: 1));
        var candidates = HostIoCandidates.Select(table);
        Assert.InRange(candidates.Count, 2, HostIoCandidates.Max);
        Assert.Equal(LastOnCpu, candidates[0].Configurations);
        Assert.Contains(candidates, c => c.Configurations.SequenceEqual(AllGpu));
        Assert.All(candidates, c => Assert.Contains(c.Options, o => o.Device == DeviceKind.Gpu));
        var placements = candidates.Select(c => string.Concat(c.Options.Select(o => o.Device == DeviceKind.Gpu ? 'G' : 'C'))).ToList();
        Assert.Equal(placements.Count, placements.Distinct().Count());
        Assert.Equal(candidates.OrderBy(c => c.PredictedUs).Select(c => c.PredictedUs), candidates.Select(c => c.PredictedUs));
        // a table whose every plan is priced far below the all-GPU plan still measures that one
        var gpuSlow = MakeProfile(lastCpuUs: 1);
        gpuSlow = gpuSlow with { Blocks = gpuSlow.Blocks.Select(b => b with { Configurations = b.Configurations.Select(c => c.Device == DeviceKind.Gpu && b.Index == 0 ? c with { MedianUs = 300 } : c).ToList() }).ToList() };
        candidates = HostIoCandidates.Select(CostModel.Build(gpuSlow));
        Assert.Contains(candidates, c => c.Configurations.SequenceEqual(AllGpu));
        Assert.True(candidates.Count <= HostIoCandidates.Max);
    }

    /// <summary>Where the optimizer's pool holds one placement only (every CPU block far slower), the room left goes to
    /// the best plan with each other configuration of the block that reads the mapped input, and never to a plan that
    /// differs only past it (a later block's kernel reads device memory either way).</summary>
    [Fact]
    public void RoomLeftGoesToOtherKernelsOfTheBlockThatReadsTheInput()
    {
        string[] others = ["gpu.tiled-shared", "gpu.warp-reduce"];
        var profile = MakeProfile();
        profile = profile with { Blocks = profile.Blocks.Select(b => b with { Configurations =
            [.. b.Configurations, .. others.Select((c, i) => new ConfigurationTiming(c, DeviceKind.Gpu, 6 + i, 6 + i, 6 + i, 5, false))] }).ToList() };
        var candidates = HostIoCandidates.Select(CostModel.Build(profile));
        Assert.Equal(3, candidates.Count);
        Assert.Equal([Gpu, .. others], candidates.Select(c => c.Configurations[0]));
        Assert.All(candidates, c => Assert.All(c.Configurations.Skip(1), x => Assert.Equal(Gpu, x)));
        Assert.Equal(3, candidates.Select(HostIoCandidates.Readers).Distinct().Count());
    }

    [Fact]
    public void PlanAndProfileFilesCarryTheChoiceAndOldFilesReadAsCopies()
    {
        var dir = Directory.CreateTempSubdirectory("hepbnn-hostio-").FullName;
        try
        {
            var profile = MakeProfile(Timing(AllGpu, 50, 0.9, 0.8), others: [Timing(LastOnCpu, 40, 0.95, 0.9)]);
            string profilePath = Path.Combine(dir, "profile.json");
            ProfileFile.Save(profile, profilePath);
            Assert.Equal(PlanningJson.Serialize(profile), PlanningJson.Serialize(ProfileFile.Read(profilePath)));
            var plan = Planner.Map(ProfileFile.Read(profilePath))[0];
            string planPath = Path.Combine(dir, "plan.json");
            PlanFile.Save(plan, planPath);
            var read = PlanFile.Load(planPath, Model);
            Assert.Equal(GpuHostIo.Mapped, read.HostIo);
            Assert.Equal(plan.HostIoSavingUs, read.HostIoSavingUs);
            Assert.Contains("\"hostIo\": \"Mapped\"", File.ReadAllText(planPath));
            // a plan written before the field existed: no hostIo, no saving
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(planPath))!.AsObject();
            Assert.True(node.Remove("hostIo") && node.Remove("hostIoSavingUs"));
            var legacy = PlanFile.Parse(node.ToJsonString());
            Assert.Null(legacy.HostIo);
            Assert.Equal(0, legacy.HostIoSavingUs);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("\"hostIo\": \"Sometimes\"", "hostIo")]
    [InlineData("\"hostIo\": 7", "hostIo 7")]
    [InlineData("\"hostIoSavingUs\": -1", "predicted totals")]
    public void ABrokenHostIoFieldIsOneClearError(string field, string expected)
    {
        var plan = Planner.Map(MakeProfile(Timing(AllGpu, 50, 0.9, 0.8)))[0];
        string json = PlanningJson.Serialize(plan);
        string broken = System.Text.RegularExpressions.Regex.Replace(json,
            field.StartsWith("\"hostIo\":", StringComparison.Ordinal) ? "\"hostIo\": \"Mapped\"" : "\"hostIoSavingUs\": [0-9.eE+-]+", field);
        Assert.NotEqual(json, broken);
        var e = Assert.Throws<HepBnnException>(() => PlanFile.Parse(broken, "plan 'broken.json'"));
        Assert.Contains(expected, e.Message);
        Assert.Contains("broken.json", e.Message);
    }

    [Fact]
    public void AProfileWithABrokenHostIoMeasurementIsRefused()
    {
        var bad = MakeProfile(new HostIoTiming(AllGpu.Take(1).ToList(), []));
        var e = Assert.Throws<HepBnnException>(() => ProfileFile.CheckWellFormed(bad, "profile 'x.json'"));
        Assert.Contains("hostIo names 1 configurations", e.Message);
        bad = MakeProfile(Timing(AllGpu, double.PositiveInfinity, 0.9, 0.8));
        e = Assert.Throws<HepBnnException>(() => ProfileFile.CheckWellFormed(bad, "profile 'x.json'"));
        Assert.Contains("hostIo Copies", e.Message);
        // the other candidates are checked alike
        bad = MakeProfile(Timing(AllGpu, 50, 0.9, 0.8), others: [Timing(LastOnCpu, 40, 0.9, -1)]);
        e = Assert.Throws<HepBnnException>(() => ProfileFile.CheckWellFormed(bad, "profile 'x.json'"));
        Assert.Contains("hostIo Mapped", e.Message);
    }

    /// <summary>Each mode with plain edges (the baseline, first) and with programmatic ones, as the profile measures them
    /// where the GPU can have programmatic edges.</summary>
    static HostIoTiming TimingWithEdges(double copiesUs, double outRatio, double allRatio, double copiesPdl, double outPdl, double allPdl,
        bool pdlMatches = true)
    {
        HostIoModeTiming Row(GpuHostIo mode, double ratio, bool pdl, bool matches = true) =>
            new(mode, copiesUs * ratio, copiesUs * ratio, copiesUs * ratio, 20, ratio, matches, pdl);
        return new(AllGpu,
        [
            Row(GpuHostIo.Copies, 1, false), Row(GpuHostIo.MappedOutput, outRatio, false), Row(GpuHostIo.Mapped, allRatio, false),
            Row(GpuHostIo.Copies, copiesPdl, true, pdlMatches), Row(GpuHostIo.MappedOutput, outPdl, true, pdlMatches), Row(GpuHostIo.Mapped, allPdl, true, pdlMatches),
        ]);
    }

    [Theory]
    [InlineData(0.90, 0.85, 0.97, 0.88, 0.80, GpuHostIo.Mapped, true, 0.80)]          // programmatic edges + mapped fastest
    [InlineData(0.90, 0.85, 0.97, 0.88, 0.86, GpuHostIo.Mapped, false, 0.85)]         // programmatic edges slower: plain
    [InlineData(0.99, 0.99, 0.95, 1.00, 1.00, GpuHostIo.Copies, true, 0.95)]          // only the edges pay
    [InlineData(0.99, 0.99, 0.99, 0.985, 0.99, GpuHostIo.Copies, false, 1.0)]         // nothing beats the baseline by 2 %
    public void TheGraphEdgesAreChosenWithTheHostIoAndPriced(double outRatio, double allRatio, double copiesPdl, double outPdl, double allPdl,
        GpuHostIo expectedIo, bool expectedPdl, double expectedRatio)
    {
        var copiesOnly = Planner.Map(MakeProfile())[0];
        var plan = Planner.Map(MakeProfile(TimingWithEdges(50, outRatio, allRatio, copiesPdl, outPdl, allPdl)))[0];
        Assert.Equal(expectedIo, plan.HostIo);
        Assert.Equal(expectedPdl, plan.DependentLaunch);
        Assert.Equal(50 * (1 - expectedRatio), plan.HostIoSavingUs, 9);
        Assert.Equal(50 * expectedRatio, plan.PredictedTotalUs, 9);
        Assert.NotEqual(copiesOnly.PredictedTotalUs, plan.PredictedTotalUs, 3);
    }

    [Fact]
    public void ProgrammaticRowsWhoseScoresDifferAreNeverChosen()
    {
        var plan = Planner.Map(MakeProfile(TimingWithEdges(50, 0.9, 0.85, 0.5, 0.5, 0.5, pdlMatches: false)))[0];
        Assert.Equal(GpuHostIo.Mapped, plan.HostIo);
        Assert.False(plan.DependentLaunch);
    }

    [Fact]
    public void PlanFilesCarryTheEdgesAndOldFilesLeaveThemToTheResources()
    {
        Assert.Null(Planner.Map(MakeProfile(Timing(AllGpu, 50, 0.9, 0.8)))[0].DependentLaunch); // measured without the edge rows
        var profile = MakeProfile(TimingWithEdges(50, 0.9, 0.85, 0.97, 0.88, 0.80));
        string path = Path.Combine(Directory.CreateTempSubdirectory("hepbnn-edges-").FullName, "profile.json");
        try
        {
            ProfileFile.Save(profile, path);
            Assert.Equal(PlanningJson.Serialize(profile), PlanningJson.Serialize(ProfileFile.Read(path)));
            Assert.Contains("\"dependentLaunch\": true", File.ReadAllText(path));
        }
        finally { Directory.Delete(Path.GetDirectoryName(path)!, true); }
        var plan = Planner.Map(profile)[0];
        string json = PlanningJson.Serialize(plan);
        Assert.Contains("\"dependentLaunch\": true", json);
        Assert.True(PlanFile.Parse(json).DependentLaunch);
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        Assert.True(node.Remove("dependentLaunch"));
        Assert.Null(PlanFile.Parse(node.ToJsonString()).DependentLaunch);
    }
}
