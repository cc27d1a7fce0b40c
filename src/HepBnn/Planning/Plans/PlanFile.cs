using HepBnn.Ops;
using HepBnn.Model;
using HepBnn.Runtime;

namespace HepBnn.Planning;

/// <summary>Reading and writing plan JSON files.</summary>
public static class PlanFile
{
    /// <summary>Checked as the reader checks it first: the writer never emits what the reader rejects.</summary>
    public static void Save(Plan plan, string path)
    {
        PlanValidator.CheckWellFormed(plan, $"plan '{path}' (not written)");
        PlanningJson.Write(plan, path, "plan");
    }

    /// <summary>Reads a plan and checks its structure only (not whether it fits a model or this machine: that is
    /// <see cref="Load(string, BnnModel, string?)"/>).</summary>
    public static Plan ReadUnvalidated(string path)
    {
        var plan = PlanningJson.Read<Plan>(path, "plan");
        PlanValidator.CheckWellFormed(plan, $"plan '{path}'");
        return plan;
    }

    /// <summary>Reads a plan and validates it against <paramref name="model"/> and this machine (or <paramref name="platform"/>).</summary>
    public static Plan Load(string path, BnnModel model, string? platform = null) => Load(path, CompiledModel.Of(model), platform);

    public static Plan Load(string path, CompiledModel model, string? platform = null)
    {
        var plan = ReadUnvalidated(path);
        PlanValidator.Validate(plan, model, platform, $"plan '{path}'");
        return plan;
    }

    public static Plan Parse(string json, string source = "plan")
    {
        var plan = PlanningJson.Parse<Plan>(json, source);
        PlanValidator.CheckWellFormed(plan, source);
        return plan;
    }
}
