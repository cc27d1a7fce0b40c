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
    public static Option<double> Budget() => new("--profile-budget-s") { Description = "seconds for all per-block measurements together (adaptive per measurement)", DefaultValueFactory = _ => 6 };
    public static Option<string?> Profile() => new("--profile") { Description = "a profile JSON from `hepbnn profile` (default: profile now)" };
    public static Option<int> Top() => new("--top") { Description = "how many plans by prediction to list / re-measure", DefaultValueFactory = _ => 5 };

    public static ProfileOptions From(ParseResult r, Option<string> device, Option<double> budget, int seed)
    {
        double s = r.GetValue(budget);
        if (!(s > 0 && s <= 3600)) throw new HepBnnException($"--profile-budget-s must be in (0, 3600] (got {s})");
        return new ProfileOptions { KernelBudgetSeconds = s, CalibrationBudgetSeconds = Math.Max(0.5, s / 2), Seed = seed, Include = BenchCommand.DeviceFilter(r.GetValue(device)!) };
    }

    public static int CheckBatch(int b) => b is >= 1 and <= 65536 ? b : throw new HepBnnException($"batch {b} out of range 1..65536");

    /// <summary>The profile to plan with: read from --profile (checked against model, batch and machine) or measured now.</summary>
    public static Profile GetProfile(string? path, BnnModel model, int batch, ExecutionResources res, ProfileOptions options, bool quiet)
    {
        if (path is null) return ProfileRunner.Run(model, batch, res, options, quiet);
        var p = ProfileFile.Load(path, model, batch);
        if (!quiet) ProfileRunner.Status($"using profile {Spectre.Console.Markup.Escape(path)} (measured {p.CreatedUtc:u}, {p.ProfilingSeconds:F1} s)");
        return p;
    }
}
