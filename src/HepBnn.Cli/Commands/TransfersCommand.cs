using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Planning;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn transfers`: host↔device copy cost (pageable vs page-locked) and per-launch overhead of the GPU.</summary>
public static class TransfersCommand
{
    public static Command Create()
    {
        var gpu = CommonOptions.Gpu();
        var json = CommonOptions.Json();
        var jsonOut = CommonOptions.JsonOut();
        var budget = OptionRules.Range(new Option<double>("--budget-ms") { Description = "measuring time per size and kind", DefaultValueFactory = _ => 200 }, 0, OptionRules.MaxSeconds * 1000, minExclusive: true);
        var model = CommonOptions.Model(required: false);
        var seed = CommonOptions.Seed();
        var batch = CommonOptions.Batch(defaultValue: 256);
        var cmd = new Command("transfers", "host↔device transfer cost (1 KiB, 64 KiB, 4 MiB; pageable vs page-locked), kernel launch overhead, " +
                                           "and GPU memory before/with/after an all-GPU session of --model at --batch") { gpu, budget, model, seed, batch, json, jsonOut };
        cmd.SetAction(CliErrors.Action(r =>
        {
            using var res = new ExecutionResources(gpu: CommonOptions.GpuSelection(r.GetValue(gpu)!));
            var report = GpuLinkBenchmark.Run(res, budgetMs: r.GetValue(budget));
            var memory = GpuMemoryReport.Measure(CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed)), PlanningOptions.CheckBatch(r.GetValue(batch)), res);
            var document = new { report.Gpu, report.Transfers, report.LaunchAndSync, report.LaunchOnly, report.Segment, Memory = memory };
            JsonOut.WriteFile(document, r.GetValue(jsonOut));
            if (r.GetValue(json)) { JsonOut.Write(document); return 0; }
            AnsiConsole.MarkupLine($"GPU: {Markup.Escape(report.Gpu)}");
            var t = new Table().AddColumn("direction").AddColumn(new TableColumn("size").RightAligned()).AddColumn("host memory")
                .AddColumn(new TableColumn("median µs").RightAligned()).AddColumn(new TableColumn("p10..p90 µs").RightAligned())
                .AddColumn(new TableColumn("GB/s").RightAligned());
            foreach (var x in report.Transfers)
                t.AddRow(x.Direction, Size(x.Bytes), x.HostMemory, $"{x.Time.MedianUs:F1}", $"{x.Time.P10Us:F1}..{x.Time.P90Us:F1}", $"{x.GigabytesPerSecond:F2}");
            AnsiConsole.Write(t);
            AnsiConsole.MarkupLine($"empty kernel launch + stream sync: [bold]{report.LaunchAndSync.MedianUs:F1} µs[/] median; " +
                                   $"launch only (100 queued, then one sync): [bold]{report.LaunchOnly.MedianUs:F2} µs[/] per launch");
            if (report.Segment is { } seg)
                AnsiConsole.MarkupLine($"segment (H2D 784 B + 4 empty kernels + D2H 40 B + one wait): stream launches [bold]{seg.Eager.MedianUs:F1} µs[/], " +
                    (seg.Graph is { } g ? $"one CUDA graph [bold]{g.MedianUs:F1} µs[/] (empty graph {seg.EmptyGraph?.MedianUs:F1} µs)" : $"no graph: {Markup.Escape(seg.GraphProblem ?? "?")}"));
            if (report.Segment is { Graph: not null } s)
                AnsiConsole.MarkupLine(s.GraphProgrammatic is { } pg
                    ? $"same graph, {s.ProgrammaticEdges} kernel→kernel edges programmatic (dependent launch): [bold]{pg.MedianUs:F1} µs[/]; " +
                      $"one empty kernel as a graph node: {s.NodePlainUs:F2} µs plain edge, {s.NodeProgrammaticUs:F2} µs programmatic edge"
                    : $"no programmatic edges: {Markup.Escape(s.ProgrammaticProblem ?? "none converted")}");
            if (report.Segment?.Waits is { Count: > 0 } waits)
                AnsiConsole.MarkupLine("one-kernel graph, launch + wait (launch call alone), by HEPBNN_GPU_WAIT: " + string.Join("; ", waits.Select(w =>
                    $"{w.Wait} [bold]{w.Run.MedianUs:F2} µs[/] (p10..p90 {w.Run.P10Us:F2}..{w.Run.P90Us:F2}; launch {w.Launch.MedianUs:F2})" +
                    (w.Problem is null ? "" : $" [yellow]fell back to sync: {Markup.Escape(w.Problem)}[/]"))));
            PrintMemory(memory);
            return 0;
        }));
        return cmd;
    }

    static void PrintMemory(GpuMemoryReport m)
    {
        var t = new Table().AddColumn($"GPU memory, {Markup.Escape(m.Model)} batch {m.Batch} all on the GPU")
            .AddColumn(new TableColumn("session holds").RightAligned()).AddColumn(new TableColumn("device free").RightAligned())
            .AddColumn(new TableColumn("device in use").RightAligned());
        foreach (var (when, x) in new[] { ("before session creation", m.Before), ("after creation", m.Created), ("after disposal", m.Disposed) })
            t.AddRow(when, Mib(x.SessionBytes), x.DeviceFreeBytes is { } f ? Mib(f) : "n/a (not CUDA)",
                     x.DeviceFreeBytes is { } free && x.DeviceTotalBytes is { } total ? Mib(total - free) : "n/a (not CUDA)");
        AnsiConsole.Write(t);
    }

    static string Mib(long bytes) => $"{bytes / (double)(1 << 20):F2} MiB";

    static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes >> 20} MiB" : bytes >= 1 << 10 ? $"{bytes >> 10} KiB" : $"{bytes} B";
}
