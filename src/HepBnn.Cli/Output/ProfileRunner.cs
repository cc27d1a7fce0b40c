using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Planning;
using Profile = HepBnn.Planning.Profile;
using Spectre.Console;

namespace HepBnn.Cli.Output;

/// <summary>Runs the profiler behind a progress bar with ETA. Progress goes to stderr, so `--json` output on stdout stays clean.</summary>
public static class ProfileRunner
{
    static readonly IAnsiConsole Err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });

    public static Profile Run(BnnModel model, int batch, ExecutionResources res, ProfileOptions options, bool quiet = false)
    {
        Profile? profile = null;
        if (quiet) profile = Profiler.Run(model, batch, res, options);
        else
            Err.Progress().AutoClear(true)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"profiling {Markup.Escape(model.Name)} at batch {batch}", maxValue: 1);
                    profile = Profiler.Run(model, batch, res, options, p =>
                    {
                        task.MaxValue = Math.Max(p.Total, 1e-9);
                        task.Value = p.Done;
                        task.Description = $"profiling {Markup.Escape(model.Name)} b{batch}: {Markup.Escape(p.Step),-40}";
                    });
                });
        if (!quiet) Status($"profiled {model.Name} at batch {batch} in [bold]{profile!.ProfilingSeconds:F1} s[/] " +
                           $"({profile.Blocks.Sum(b => b.Configurations.Count)} block × configuration measurements, {profile.Transfers.Count} transfers, " +
                           $"{profile.Calibration?.Points.Count ?? 0} calibration plans)" +
                           (profile.Remeasured ? "; [yellow]blocks timed twice: the first timings disagreed with whole-plan runs (busy machine?)[/]" : ""));
        return profile!;
    }

    /// <summary>A status line on stderr (kept out of --json output).</summary>
    public static void Status(string markup) => Err.MarkupLine(markup);
}
