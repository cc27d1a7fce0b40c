using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Planning;
using HepBnn.Runtime;
namespace HepBnn.Tests.Planning;

/// <summary>Plan JSON: round trip, and every kind of bad plan refused with one clear exception.</summary>
public class PlanFileTests
{
    static readonly BnnModel Model = ModelZoo.Vgg3(1);
    static readonly string[] Configs = ["cpu.mt-rows", "cpu.scalar", "cpu.mt-batch", "cpu.mt-channels"];

    static string Temp(string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"hepbnn-plan-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void RoundTrip()
    {
        var plan = PlanTestSupport.Make(Model, Configs, batch: 7);
        var path = Path.Combine(Path.GetTempPath(), $"hepbnn-plan-{Guid.NewGuid():N}.json");
        try
        {
            PlanFile.Save(plan, path);
            var back = PlanFile.Load(path, Model);
            Assert.Equal(plan.Configurations, back.Configurations);
            Assert.Equal(plan with { Blocks = back.Blocks }, back);
            Assert.Equal(plan.Blocks, back.Blocks);
            Assert.Contains("\"modelHash\"", File.ReadAllText(path));
            Assert.Contains("\"Cpu\"", File.ReadAllText(path));
        }
        finally { File.Delete(path); }
    }

    static HepBnnException LoadError(string json, BnnModel? model = null, string? platform = null)
    {
        var path = Temp(json);
        try { return Assert.ThrowsAny<HepBnnException>(() => PlanFile.Load(path, model ?? Model, platform)); }
        finally { File.Delete(path); }
    }

    static string Json(Plan p) => PlanningJson.Serialize(p);

    [Fact]
    public void BadJsonIsRefused()
    {
        Assert.Contains("not valid", LoadError("{ this is not json").Message);
        Assert.Contains("not valid", LoadError("[1, 2, 3]").Message);
        Assert.Contains("empty", LoadError("null").Message);
        var e = LoadError(Json(PlanTestSupport.Make(Model, Configs)).Replace("\"modelHash\"", "\"modelHashX\""));
        Assert.Contains("modelHash", e.Message);
    }

    [Fact]
    public void MissingFileIsRefused() =>
        Assert.Contains("cannot read", Assert.Throws<HepBnnException>(() => PlanFile.ReadUnvalidated("/nonexistent/dir/plan.json")).Message);

    [Fact]
    public void UnknownConfigurationIsRefused()
    {
        var e = LoadError(Json(PlanTestSupport.Make(Model, Configs)).Replace("cpu.scalar", "cpu.quantum"));
        Assert.IsType<PlanMismatchException>(e);
        Assert.Contains("unknown configuration 'cpu.quantum'", e.Message);
    }

    [Fact]
    public void WrongBlockCountIsRefused()
    {
        var plan = PlanTestSupport.Make(Model, Configs);
        var e = LoadError(Json(plan with { Blocks = plan.Blocks.Take(3).ToList() }));
        Assert.IsType<PlanMismatchException>(e);
        Assert.Contains("has 3 blocks", e.Message);
    }

    [Fact]
    public void HashMismatchIsRefused()
    {
        var e = LoadError(Json(PlanTestSupport.Make(Model, Configs)), model: ModelZoo.Vgg3(2));
        Assert.IsType<PlanMismatchException>(e);
        Assert.Contains("another model", e.Message);
    }

    [Fact]
    public void PlatformMismatchIsRefused()
    {
        var e = LoadError(Json(PlanTestSupport.Make(Model, Configs, platform: "cpu=Some Other CPU;cores=128;gpus=H100")));
        Assert.IsType<PlanMismatchException>(e);
        Assert.Contains("another machine", e.Message);
    }

    [Fact]
    public void MalformedContentIsRefused()
    {
        var plan = PlanTestSupport.Make(Model, Configs);
        Assert.Contains("format", LoadError(Json(plan with { Format = "something/9" })).Message);
        Assert.Contains("batch", LoadError(Json(plan with { Batch = 0 })).Message);
        Assert.Contains("finite", LoadError(Json(plan with { PredictedTotalUs = -1 })).Message);
        var swapped = plan.Blocks.ToList();
        (swapped[0], swapped[1]) = (swapped[1], swapped[0]);
        Assert.Contains("index", LoadError(Json(plan with { Blocks = swapped })).Message);
        var wrongDevice = plan.Blocks.ToList();
        wrongDevice[0] = wrongDevice[0] with { Device = HepBnn.Devices.DeviceKind.Gpu };
        Assert.Contains("runs on the Cpu", LoadError(Json(plan with { Blocks = wrongDevice })).Message);
        Assert.Contains("not valid", LoadError(Json(plan).Replace("\"Cpu\"", "\"Tpu\"")).Message);
    }
}
