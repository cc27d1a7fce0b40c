using HepBnn.Devices;
using HepBnn.Planning;
using HepBnn.Tests.Formats;
namespace HepBnn.Tests.Planning;

/// <summary>Regression (found by the plan/profile fuzzers): a null element in a list of a plan or profile file was
/// deserialized (nullable annotations do not cover list elements) and later crashed with a NullReferenceException.</summary>
public class PlanningJsonNullElementTests
{
    static readonly HepBnn.Model.BnnModel Model = FormatTestModels.Tiny(1);

    [Fact]
    public void NullPlanBlockIsRefused()
    {
        var json = PlanningJson.Serialize(PlanTestSupport.Make(Model, PlanTestSupport.RandomCpuPlan(Model, new Random(1)), platform: "p"));
        int at = json.IndexOf("\"blocks\": [", StringComparison.Ordinal) + "\"blocks\": [".Length;
        var e = Assert.Throws<HepBnnException>(() => PlanFile.Parse(json.Insert(at, "null,")));
        Assert.Contains("$.blocks[0] is null", e.Message);
    }

    [Theory]
    [InlineData("\"transfers\": [", "null", "$.transfers[0]")]
    [InlineData("\"configurations\": [", "null,", "$.blocks[0].configurations[0]")]
    [InlineData("\"points\": [", "null", "$.calibration.points[0]")]
    [InlineData("\"devices\": [", "null", "$.calibration.devices[0]")]
    public void NullProfileElementIsRefused(string list, string insert, string path)
    {
        var profile = new Profile(Profile.FormatId, "m", "00", 1, "p", DateTime.UtcNow, 1,
            [new BlockProfile(0, "b0", 1, 1, [new ConfigurationTiming("cpu.scalar", HepBnn.Devices.DeviceKind.Cpu, 1, 1, 1, 1, false)])],
            [], new Calibration(0, 0, [], []), false);
        var json = PlanningJson.Serialize(profile);
        int at = json.IndexOf(list, StringComparison.Ordinal);
        Assert.True(at >= 0, list);
        json = json.Insert(at + list.Length, insert);
        var e = Assert.Throws<HepBnnException>(() => PlanningJson.Parse<Profile>(json, "profile"));
        Assert.Contains($"{path} is null", e.Message);
    }
}
