using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
namespace HepBnn.Tests.Planning;

/// <summary>Plans made directly (no profiling) for tests.</summary>
public static class PlanTestSupport
{
    public static Plan Make(BnnModel model, IReadOnlyList<string> configurations, int batch = 2, string? platform = null)
    {
        var blocks = BlockCompiler.Compile(model);
        var planned = blocks.Select((b, i) => new PlannedBlock(i, b.Name, configurations[i], ConfigurationRegistry.Find(configurations[i]).Device, 10 + i, 0, 10 + i)).ToList();
        return new Plan(Plan.FormatId, model.Name, ModelHash.Compute(model), batch, platform ?? PlanValidator.CurrentPlatform, DateTime.UtcNow,
            planned, 0, 1, planned.Sum(p => p.PredictedUs) + 1);
    }

    /// <summary>A random CPU configuration per block (among those that support it).</summary>
    public static string[] RandomCpuPlan(BnnModel model, Random r) =>
        BlockCompiler.Compile(model).Select(b =>
        {
            var options = ConfigurationRegistry.For(b, DeviceKind.Cpu).ToList();
            return options[r.Next(options.Count)].Name;
        }).ToArray();
}
