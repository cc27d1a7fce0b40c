using HepBnn.Planning;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Output;

/// <summary>The verdict as a table: found plan, runners-up and baselines with predicted and measured latency.</summary>
public static class VerdictView
{
    public static void Print(Verdict v)
    {
        var t = new Table().Title($"{Markup.Escape(v.Model)}, batch {v.Batch}: found plan vs runners-up and baselines (measured interleaved)")
            .AddColumn("plan").AddColumn(new TableColumn("predicted µs").RightAligned()).AddColumn(new TableColumn("measured median µs").RightAligned())
            .AddColumn(new TableColumn("p10..p90 µs").RightAligned()).AddColumn(new TableColumn("vs found plan").RightAligned()).AddColumn("configurations");
        foreach (var r in v.Rows)
        {
            if (r.Measured is not { } m) { t.AddRow(Markup.Escape(r.Label), "-", "-", "-", "-", $"[grey]{Markup.Escape(r.Note ?? "")}[/]"); continue; }
            string ratio = RatioCell(r, v);
            string configs = Markup.Escape(PlanView.Summary(r.Configurations!)) + (r.Note is null ? "" : $" [grey]({Markup.Escape(r.Note)})[/]");
            t.AddRow(Markup.Escape(r.Label), double.IsFinite(r.PredictedUs) ? $"{r.PredictedUs:F1}" : "-", $"{m.MedianUs:F1}", $"{m.P10Us:F1}..{m.P90Us:F1}", ratio, configs);
        }
        AnsiConsole.Write(t);
        if (v.Rows.Any(r => r.RatiosDisagree))
            AnsiConsole.MarkupLine("[grey]vs found plan = ratio of the measured medians; (paired …) = median of the per-round ratios where it differs by more than 10% (noisy rounds)[/]");
        AnsiConsole.MarkupLine($"found plan: predicted [bold]{v.PredictedUs:F1} µs[/], measured [bold]{v.MeasuredUs:F1} µs[/] " +
                               $"(prediction error {v.PredictionError:+0.0%;-0.0%}{(Math.Abs(v.PredictionError) <= 0.10 ? ", within 10%" : ", [red]over 10%[/]")})");
        int measured = v.Rows.Count(r => r.Measured is not null && r.Note is null);
        AnsiConsole.MarkupLine(v.PlanIsMeasuredBest
            ? $"verdict: the found plan [green]is the measured best[/] of the {measured} plans measured (top-{v.Rows.Count(r => r.Label.StartsWith("top-", StringComparison.Ordinal)) + 1} and baselines, within 3%)"
            : $"verdict: the found plan is [red]not[/] the measured best: {Markup.Escape(v.BeatenBy ?? "?")} measured {v.BeatenByFactor:F2}x faster (more than 3%)");
        if (v.FasterMode is { } mode)
            AnsiConsole.MarkupLine($"[yellow]note: the found plan ran {v.FasterModeFactor:F2}x faster as \"{Markup.Escape(mode)}\" (paired, more than 3%)[/]");
        if (v.GpuExecution is { } g) AnsiConsole.MarkupLine($"found plan's GPU blocks: {Markup.Escape(g)}");
        if (v.Plan.HostIo is { } io)
            AnsiConsole.MarkupLine($"found plan's host I/O (chosen by measurement while profiling): {Markup.Escape(PlanView.HostIoName(io))}" +
                                   (v.Plan.HostIoSavingUs > 0 ? $", {v.Plan.HostIoSavingUs:F1} µs below copies" : "")
                                   + (v.Plan.DependentLaunch is { } pdl ? $"; graph edges {Markup.Escape(PlanView.EdgesName(pdl))}" : "")
                                   + (v.Plan.MeasuredWhileProfiling ? "; predicted at that measurement" : ""));
        foreach (var m in v.HostIoMeasured) AnsiConsole.MarkupLine($"[grey]{Markup.Escape(HostIoLine(m, v.Plan))}[/]");
        AnsiConsole.MarkupLine(v.ReferenceMismatches.Count == 0
            ? "every measured plan's scores match the reference (first samples of the batch)"
            : $"[red]SCORES DIFFER FROM THE REFERENCE[/]: {Markup.Escape(string.Join("; ", v.ReferenceMismatches))}");
        AnsiConsole.MarkupLine($"profiling {v.ProfilingSeconds:F1} s, measuring {v.MeasuringSeconds:F1} s" +
                               (double.IsNaN(v.LoadBefore) ? "" : $", load average {v.LoadBefore:F1} → {v.LoadAfter:F1} on {Environment.ProcessorCount} cores"));
        if (v.Spread > 1.3 || v.LoadAfter > Environment.ProcessorCount)
            AnsiConsole.MarkupLine($"[yellow]note: noisy measurements (found plan p90/p10 = {v.Spread:F2}); other processes compete for the CPU, " +
                                   "so medians and predictions drift with their load[/]");
    }

    /// <summary>One plan's host I/O as the profile measured it: its copies median and each mapped mode paired with it.</summary>
    public static string HostIoLine(HostIoTiming m, Plan found)
    {
        string which = m.Configurations.SequenceEqual(found.Configurations, StringComparer.OrdinalIgnoreCase) ? "found plan" : "candidate";
        var copies = m.Modes.FirstOrDefault(x => x.Mode == Devices.GpuHostIo.Copies);
        // rows with the other graph edges than the baseline's (where the profile measured both) say which
        string Edges(HostIoModeTiming x) => x.DependentLaunch is { } d && d != copies?.DependentLaunch ? (d ? " programmatic" : " plain") : "";
        string modes = string.Join(", ", m.Modes.Where(x => x != copies).Select(x =>
            $"{(x.Mode switch { Devices.GpuHostIo.Copies => "copies", Devices.GpuHostIo.MappedOutput => "mapped output", _ => "mapped in+out" })}{Edges(x)} " +
            $"{x.PairedRatio:F2}x{(x.ScoresMatch ? "" : " (scores differ)")}"));
        return $"host I/O measured while profiling, {which} {PlanView.Summary(m.Configurations)}: copies {copies?.MedianUs:F1} µs, {modes}";
    }

    /// <summary>The "vs found plan" cell: the ratio of this row's measured median to the found plan's (so it agrees with
    /// the medians beside it), with the paired per-round ratio added when the two disagree by more than 10%.</summary>
    public static string RatioCell(VerdictRow r, Verdict v)
    {
        // the found plan run another way (e.g. "found plan, graphs off") keeps its own ratio
        bool otherMode = r.Label.StartsWith("found plan, ", StringComparison.Ordinal);
        if (!otherMode && r.Configurations is not null && r.Configurations.SequenceEqual(v.Plan.Configurations)) return "1.00x";
        if (r.VsPlan is not { } x || !double.IsFinite(x) || x <= 0) return "-";
        string cell = x >= 1 ? $"{x:F2}x slower" : $"[yellow]{1 / x:F2}x faster[/]";
        return r.RatiosDisagree ? $"{cell} [grey](paired {r.PairedRatio:F2}x)[/]" : cell;
    }
}
