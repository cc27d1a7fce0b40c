using HepBnn.Planning;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Output;

/// <summary>Tables of a plan, of the runners-up, of the calibration, and a profile as per-layer tables.</summary>
public static class PlanView
{
    public static void Print(Plan plan)
    {
        var t = new Table().Title($"plan for {Markup.Escape(plan.Model)} at batch {plan.Batch}: predicted {plan.PredictedTotalUs:F1} µs" +
                                  (plan.MeasuredWhileProfiling ? " (measured whole while profiling; the rows below price it with copies)" : ""))
            .AddColumn("block").AddColumn("configuration").AddColumn("device")
            .AddColumn(new TableColumn("compute µs").RightAligned()).AddColumn(new TableColumn("transfer in µs").RightAligned());
        foreach (var b in plan.Blocks)
            t.AddRow(b.Name, b.Configuration, b.Device.ToString(), $"{b.ComputeUs:F1}", $"{b.TransferInUs:F1}");
        t.AddRow("scores → host", "", "", "", $"{plan.OutputTransferUs:F1}");
        t.AddRow("per-run overhead", "", "", $"{plan.OverheadUs:F1}", "");
        if (plan.HostIo is { } io) t.AddRow("GPU host I/O", Markup.Escape(HostIoName(io)), "", "", plan.HostIoSavingUs > 0 ? $"−{plan.HostIoSavingUs:F1}" : "");
        if (plan.DependentLaunch is { } pdl) t.AddRow("GPU graph edges", Markup.Escape(EdgesName(pdl)), "", "", "");
        AnsiConsole.Write(t);
    }

    /// <summary>A plan's measured graph edges, as the plan table names them.</summary>
    public static string EdgesName(bool dependentLaunch) =>
        dependentLaunch ? "programmatic: dependent launch (measured fastest)" : "plain (measured fastest)";

    /// <summary>How a plan's GPU segments move input and output, as the plan table names it.</summary>
    public static string HostIoName(Devices.GpuHostIo io) => io switch
    {
        Devices.GpuHostIo.Copies => "copies (measured fastest)",
        Devices.GpuHostIo.MappedOutput => "mapped host output (measured fastest)",
        _ => "mapped host input and output (measured fastest)",
    };

    public static void PrintTop(IReadOnlyList<Plan> top)
    {
        var t = new Table().Title($"top {top.Count} plans by prediction").AddColumn("rank").AddColumn(new TableColumn("predicted µs").RightAligned()).AddColumn("configurations");
        for (int i = 0; i < top.Count; i++) t.AddRow($"{i + 1}", $"{top[i].PredictedTotalUs:F1}", Markup.Escape(Summary(top[i].Configurations)));
        AnsiConsole.Write(t);
    }

    public static void PrintCalibration(Calibration? c)
    {
        if (c is null || c.Points.Count == 0) { AnsiConsole.MarkupLine("calibration: none"); return; }
        var t = new Table().Title($"calibration: session {c.SessionUs:F1} µs, per boundary {c.BoundaryUs:F1} µs, " +
                                  string.Join(", ", c.Devices.Select(d => $"{d.Device}: {d.PerBlockUs:+0.0;-0.0} µs/block, ×{1 + d.WorkFactor:F3}")))
            .AddColumn("plan").AddColumn(new TableColumn("isolated sum µs").RightAligned()).AddColumn(new TableColumn("measured µs").RightAligned())
            .AddColumn(new TableColumn("calibrated µs").RightAligned()).AddColumn(new TableColumn("error").RightAligned());
        foreach (var p in c.Points)
            t.AddRow(Markup.Escape(Summary(p.Configurations)), $"{p.IsolatedUs:F1}", $"{p.MeasuredUs:F1}", $"{p.PredictedUs:F1}",
                $"{(p.PredictedUs - p.MeasuredUs) / p.MeasuredUs:+0.0%;-0.0%}{(p.Weight == 0 ? " (outlier, ignored)" : "")}");
        AnsiConsole.Write(t);
    }

    /// <summary>"cpu.mt-rows ×3, cpu.simd256" style: consecutive runs of one configuration collapsed.</summary>
    public static string Summary(IReadOnlyList<string> configurations)
    {
        var parts = new List<string>();
        for (int i = 0; i < configurations.Count;)
        {
            int j = i;
            while (j < configurations.Count && configurations[j] == configurations[i]) j++;
            parts.Add(j - i > 1 ? $"{configurations[i]} ×{j - i}" : configurations[i]);
            i = j;
        }
        return string.Join(", ", parts);
    }
}
