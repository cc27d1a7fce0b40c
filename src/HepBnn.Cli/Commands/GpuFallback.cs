using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Runtime;
using HepBnn.Sessions;
namespace HepBnn.Cli.Commands;

/// <summary>The CLI's face of <see cref="CpuFallback"/> (the library's rule): when the GPU a command wants is missing or fails (driver, out of memory, a failed launch), the command runs the
/// best CPU plan instead and says so in one line on stderr; `--json` output carries the same as a <c>fallback</c> field.</summary>
public static class GpuFallback
{
    /// <summary>The <c>fallback</c> field of JSON output: what the command fell back to and why.</summary>
    public sealed record Info(string To, string Reason);

    public static string Line(string reason) => CpuFallback.Line(reason);

    public static Info Announce(string reason)
    {
        Console.Error.WriteLine($"hepbnn: {Line(reason)}"); // plain text: one line whatever the terminal width
        return new Info("cpu", reason);
    }

    public static readonly Func<IKernelConfiguration, bool> CpuOnly = CpuFallback.CpuOnly;

    /// <summary>Announces a fallback when the devices asked for (--device) include the GPU and this session has none.</summary>
    public static Info? BeforePlanning(ExecutionResources res, string device) =>
        !device.Equals("cpu", StringComparison.OrdinalIgnoreCase) && res.Gpu is null ? Announce(res.GpuProblem ?? "no GPU") : null;

    public static bool UsesGpu(IReadOnlyList<PlannedBlock> blocks) => CpuFallback.UsesGpu(blocks);

    /// <summary>Profiles the CPU configurations only (short budgets) and maps: the best CPU plan at <paramref name="batch"/>.</summary>
    public static Plan BestCpuPlan(BnnModel model, int batch, int seed, bool quiet)
    {
        using var res = new ExecutionResources(gpu: GpuSelection.None);
        var options = new ProfileOptions { KernelBudgetSeconds = 2, CalibrationBudgetSeconds = 1, Seed = seed, Include = CpuOnly };
        return Planner.Map(ProfileRunner.Run(model, batch, res, options, quiet))[0];
    }

    /// <summary>Runs <paramref name="plan"/> with <paramref name="include"/> (all devices); a GPU failure announces the
    /// fallback and runs <paramref name="plan"/> again with the CPU configurations only.</summary>
    public static (T Result, Info? Fallback) Run<T>(Func<Func<IKernelConfiguration, bool>?, T> plan, Info? already = null)
    {
        if (already is not null) return (plan(CpuOnly), already);
        Info? info = null;
        string? reason = null;
        var (result, _) = CpuFallback.Run(include =>
        {
            if (include is not null) info = Announce(reason!);
            return plan(include);
        }, onFault: r => reason = r);
        return (result, info);
    }
}
