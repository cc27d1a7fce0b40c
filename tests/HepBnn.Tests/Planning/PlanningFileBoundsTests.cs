using HepBnn.Devices;
using System.Text;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Devices;
using HepBnn.Runtime;

namespace HepBnn.Tests.Planning;

/// <summary>Issue 13: a profile with finite but huge times mapped to a plan with "predictedTotalUs": "Infinity" that
/// `run --plan` refused (the writer emitted what the reader rejects), and plan/profile JSON was read whole with no limit.</summary>
public class PlanningFileBoundsTests
{
    static readonly BnnModel Model = Formats.FormatTestModels.Tiny(1);
    const string Platform = "bounds-platform";

    static Profile MakeProfile(double medianUs)
    {
        var blocks = BlockCompiler.Compile(Model);
        var profiles = blocks.Select((b, i) => new BlockProfile(i, b.Name, 10, 10,
            ConfigurationRegistry.For(b, DeviceKind.Cpu).Select(c => new ConfigurationTiming(c.Name, c.Device, medianUs, medianUs, medianUs, 5, false)).ToList())).ToList();
        return new Profile(Profile.FormatId, Model.Name, ModelHash.Compute(Model), 1, Platform, DateTime.UtcNow, 1, profiles, [], null, false);
    }

    static string Temp(string name) => Path.Combine(Directory.CreateTempSubdirectory("hepbnn-bounds-").FullName, name);

    [Fact]
    public void AProfileWithHugeTimesIsRefusedByTheReaderNamingTheLimit()
    {
        string path = Temp("huge.json");
        File.WriteAllText(path, PlanningJson.Serialize(MakeProfile(1e308)));
        var e = Assert.Throws<HepBnnException>(() => ProfileFile.Read(path));
        Assert.True(e.Message.Contains("out of range 0..1000000000000 µs"), e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void TheWritersNeverEmitWhatTheReadersReject()
    {
        // in memory, a profile can hold anything: mapping it must not produce an unreadable plan, saving must refuse
        var huge = MakeProfile(1e308);
        var e = Assert.Throws<HepBnnException>(() => Planner.Map(huge));
        Assert.Contains("predicted", e.Message);
        string profilePath = Temp("p.json");
        Assert.Throws<HepBnnException>(() => ProfileFile.Save(huge, profilePath));
        Assert.False(File.Exists(profilePath));
        var plan = Planner.Map(MakeProfile(5))[0];
        string planPath = Temp("plan.json");
        Assert.Throws<HepBnnException>(() => PlanFile.Save(plan with { PredictedTotalUs = double.PositiveInfinity }, planPath));
        Assert.False(File.Exists(planPath));
        // the largest accepted times still map to a plan that reads back
        var largest = MakeProfile(ProfileFile.MaxTimeUs);
        ProfileFile.Save(largest, profilePath);
        var mapped = Planner.Map(ProfileFile.Read(profilePath))[0];
        PlanFile.Save(mapped, planPath);
        Assert.Equal(PlanningJson.Serialize(mapped), PlanningJson.Serialize(PlanFile.ReadUnvalidated(planPath)));
    }

    [Fact]
    public void OversizedPlanAndProfileFilesAreRefusedBeforeReading()
    {
        string path = Temp("big.json");
        using (var f = File.Create(path)) f.SetLength(PlanningJson.MaxFileBytes + 1); // sparse: nothing written
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<HepBnnException>(() => PlanFile.ReadUnvalidated(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains($"the limit is {PlanningJson.MaxFileBytes}", e.Message);
        Assert.True(allocated < 1 << 20, $"refusing a {PlanningJson.MaxFileBytes >> 20} MiB file allocated {allocated} bytes");
        Assert.Contains("the limit is", Assert.Throws<HepBnnException>(() => ProfileFile.Read(path)).Message);
    }

    [Fact]
    public void DeeplyNestedJsonIsRefusedNamingTheDepth()
    {
        string path = Temp("deep.json");
        var json = new StringBuilder("{\"comment\": "); // an unknown property: skipped, but its depth is still read
        for (int i = 0; i < 200; i++) json.Append('[');
        for (int i = 0; i < 200; i++) json.Append(']');
        File.WriteAllText(path, json.Append('}').ToString());
        var e = Assert.Throws<HepBnnException>(() => PlanFile.ReadUnvalidated(path));
        Assert.Contains($"depth of {PlanningJson.MaxDepth}", e.Message);
    }

    [Fact]
    public void AModelDeclaringAHugeInputIsRefusedUpFront()
    {
        // a crafted model: 16384×16384 input (578 MB and 20 s per run before; an OverflowException at batch 8)
        var e = Assert.Throws<HepBnnException>(() => new ModelBuilder(new Shape3(16384, 16384, 1), 1).InputConv(8, 3, stride: 64).BnSign().Conv(8, 3, stride: 64).BnSign().Flatten().Dense(10).Build("huge"));
        Assert.True(e.Message.Contains($"the limit is {ModelValidator.MaxInputElements}"), e.Message);
        // the largest input still accepted
        var small = new ModelBuilder(new Shape3(4096, 4096, 1), 1).InputConv(8, 3, stride: 64).BnSign().Conv(8, 3, stride: 64).BnSign().Flatten().Dense(10).Build("edge");
        Assert.Equal(ModelValidator.MaxInputElements, small.InputShape.Elements);
    }

    [Fact]
    public void ASessionNeedingTooMuchMemoryIsRefusedBeforeAllocating()
    {
        var model = new ModelBuilder(new Shape3(1024, 1024, 1), 1).InputConv(64).BnSign().Conv(8, 3, stride: 64).BnSign().Flatten().Dense(10).Build("wide");
        var e = Assert.Throws<HepBnnException>(() => new InferenceSession(model, "cpu.scalar", new SessionOptions { MaxBatch = 65536 }));
        Assert.Contains("the limit is", e.Message);
        Assert.Contains("activation buffers", e.Message);
        Assert.Contains("exceed the limit", Assert.Throws<HepBnnException>(() => ModelZoo.RandomImages(new Shape3(4096, 4096, 1), 1000, 1)).Message);
    }
}
