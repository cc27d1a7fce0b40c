using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Planning;

namespace HepBnn.Cli.Commands;

/// <summary>Options of the planning commands (profile, map, bench, run --remap) and how they become <see cref="ProfileOptions"/>.</summary>
public static class PlanningOptions
{
    public static Option<string> Device() => new("--device") { Description = "devices to plan for: cpu, gpu or all", DefaultValueFactory = _ => "all" };
    public static Option<double> Budget(double defaultValue = 6) => OptionRules.Range(new Option<double>("--profile-budget-s")
        { Description = "seconds for all per-block measurements together (adaptive per measurement)", DefaultValueFactory = _ => defaultValue }, 0, OptionRules.MaxSeconds, minExclusive: true);
    public static Option<string?> Profile() => new("--profile") { Description = "a profile JSON from `hepbnn profile` (default: profile now)" };
    public static Option<int> Top(int max) => OptionRules.Range(new Option<int>("--top") { Description = "how many plans by prediction to list / re-measure", DefaultValueFactory = _ => 5 }, 1, max);

    public static ProfileOptions From(ParseResult r, Option<string> device, Option<double> budget, int seed)
    {
        double s = r.GetValue(budget); // bounds: OptionRules
        return new ProfileOptions { KernelBudgetSeconds = s, CalibrationBudgetSeconds = Math.Max(0.5, s / 2), Seed = seed, Include = BenchCommand.DeviceFilter(r.GetValue(device)!) };
    }

    public static int CheckBatch(int b) => b is >= 1 and <= OptionRules.MaxBatch ? b : throw new HepBnnException($"batch {b} out of range 1..{OptionRules.MaxBatch}");

    /// <summary>The profile to plan with: read from --profile (checked against model, batch and machine) or measured now.</summary>
    public static Profile GetProfile(string? path, BnnModel model, int batch, ExecutionResources res, ProfileOptions options, bool quiet)
    {
        if (path is null) return ProfileRunner.Run(model, batch, res, options, quiet);
        var p = ProfileFile.Load(path, model, batch);
        if (!quiet) ProfileRunner.Status($"using profile {Spectre.Console.Markup.Escape(path)} (measured {p.CreatedUtc:u}, {p.ProfilingSeconds:F1} s)");
        return p;
    }
}
