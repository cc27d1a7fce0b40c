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

    /// <summary>Reads a plan and checks its structure (not yet whether it fits a model or this machine).</summary>
    public static Plan Read(string path)
    {
        var plan = PlanningJson.Read<Plan>(path, "plan");
        PlanValidator.CheckWellFormed(plan, $"plan '{path}'");
        return plan;
    }

    /// <summary>Reads a plan and validates it against <paramref name="model"/> and this machine (or <paramref name="platform"/>).</summary>
    public static Plan Load(string path, BnnModel model, string? platform = null)
    {
        var plan = Read(path);
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
