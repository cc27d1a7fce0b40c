using System.Text.Json.Nodes;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Planning;
using HepBnn.Reference;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>Fused ranges through the planner on the ILGPU CPU accelerator: profiled per range, in the cost table, in a
/// plan file, and run by a session from that file, bit-exact. (The times are the emulator's: only the plumbing is tested.)</summary>
[Collection(GpuCollection.Name)]
public class GpuFusedPlanningTests(CpuAcceleratorFixture fixture)
{
    /// <summary>Two blocks on 4×4 pixels (pooled image conv, dense scores): the emulator runs a launch in tens of ms, and
    /// times each of the 3 ranges as chains of launches.</summary>
    static BnnModel Small(int seed) => new ModelBuilder(new Shape3(4, 4, 1), seed)
        .InputConv(8).Pool().BnSign().Flatten().Dense(10).ScoreBn().Build("small");

    static readonly string[] Profiled = ["cpu.scalar", "gpu.thread-per-output", GpuFused.ConfigurationName];

    [Fact]
    public void ProfiledRangesMakeAWholeNetworkFusedPlanThatRunsFromItsFile()
    {
        var model = Small(21);
        var compiled = CompiledModel.Of(model);
        int n = compiled.Blocks.Count;
        var options = ProfileOptions.Quick with { Include = c => Profiled.Contains(c.Name), CalibrationPlans = 0, MinSamples = 1 };
        var profile = Profiler.Run(compiled, 1, fixture.Resources, options);

        Assert.All(profile.Blocks, b => Assert.DoesNotContain(b.Configurations, c => c.Configuration == GpuFused.ConfigurationName));
        var ranges = profile.FusedRanges!;
        Assert.Equal(n * (n + 1) / 2, ranges.Count);
        for (int first = 0; first < n; first++)
            for (int last = first; last < n; last++)
                Assert.Contains(ranges, r => r.First == first && r.Last == last && r.MedianUs > 0 && r.Samples >= 1);

        var table = CostModel.Build(profile);
        Assert.Equal(ranges.Count, table.Ranges.Count);
        // Only fused ranges allowed: the one mapping is the whole network as one range (adjacent ranges would merge).
        var whole = PlanOptimizer.Best(table, o => o.Configuration == GpuFused.ConfigurationName)!;
        Assert.All(whole.Configurations, c => Assert.Equal(GpuFused.ConfigurationName, c));
        var plan = Planner.ToPlan(profile, table, whole);
        Assert.Equal(plan.PredictedTotalUs, plan.Blocks.Sum(b => b.PredictedUs) + plan.OutputTransferUs + plan.OverheadUs, 6);
        Assert.Equal(table.RangeTime(0, n - 1), plan.Blocks[0].ComputeUs, 9);

        var path = Path.Combine(Path.GetTempPath(), $"hepbnn-fused-plan-{Guid.NewGuid():N}.json");
        try
        {
            PlanFile.Save(plan, path);
            var loaded = PlanFile.Load(path, compiled);
            using var session = new InferenceSession(compiled, loaded, new SessionOptions { MaxBatch = 2 }, fixture.Resources);
            Assert.Equal([(0, n - 1)], session.FusedRanges);
            Assert.Contains("fused in one kernel: blocks 0.." + (n - 1), session.GpuExecution);
            var images = ModelZoo.RandomImages(model.InputShape, 2, 5);
            var raw = new int[2 * session.ScoresPerImage];
            session.Run(images, 2, raw);
            for (int s = 0; s < 2; s++)
                Assert.Equal(ReferenceEngine.RawScores(model, images.AsSpan((int)(s * model.InputShape.Elements), (int)model.InputShape.Elements)),
                    raw.AsSpan(s * session.ScoresPerImage, session.ScoresPerImage).ToArray().Select(v => (double)v));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ProfilesWrittenBeforeFusedRangesStillRead()
    {
        var model = Small(22);
        var options = ProfileOptions.Quick with { Include = c => c.Name == "cpu.scalar", CalibrationPlans = 0 };
        using var cpuOnly = new ExecutionResources(1);
        var profile = Profiler.Run(model, 1, cpuOnly, options);
        Assert.Null(profile.FusedRanges);
        var json = JsonNode.Parse(PlanningJson.Serialize(profile))!.AsObject();
        json.Remove("fusedRanges");
        var back = PlanningJson.Parse<Profile>(json.ToJsonString(), "old profile");
        Assert.Null(back.FusedRanges);
        Assert.Empty(CostModel.Build(back).Ranges);
    }
}

/// <summary>`hepbnn verify` checks fused ranges of several blocks (the grid barrier) with whole sessions, not only per block.</summary>
[Collection(GpuCollection.Name)]
public class GpuFusedVerifierTests(CpuAcceleratorFixture fixture)
{
    [Fact]
    public void VerifierChecksWholeAndMidNetworkFusedRanges()
    {
        var models = new List<(BnnModel, int)> { (TinyModels.Vgg3Like(31), 1), (TinyModels.Vgg3Like(32), 2) };
        var report = Verifier.Run(fixture.Resources, [ConfigurationRegistry.Find(GpuFused.ConfigurationName)], models);
        var row = report.Results.Single(r => r.Configuration == Verifier.FusedRangesRow);
        Assert.True(row.Mismatches == 0, row.FirstMismatch);
        Assert.Equal(6, row.BlocksChecked); // two models × (whole network, blocks 1..end, the last two: a dense pair)
        // and the same ranges with each stage kind (tensor-core stages, SIMT stages only)
        foreach (var label in new[] { Verifier.FusedMmaRangesRow, Verifier.FusedSimtRangesRow })
        {
            var kind = report.Results.Single(r => r.Configuration == label);
            Assert.True(kind.Mismatches == 0, kind.FirstMismatch);
            Assert.Equal(6, kind.BlocksChecked);
        }
        Assert.True(report.Passed);
    }
}
