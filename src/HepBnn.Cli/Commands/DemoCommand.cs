using System.CommandLine;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Planning;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn demo`: profile this machine, pick the fastest configuration per block, run, compare with baselines.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model(required: false);
        var seed = CommonOptions.Seed();
        var batch = CommonOptions.Batch();
        var cmd = new Command("demo", "profile this machine, map the bundled model and compare the plan with baselines") { model, seed, batch };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var platform = PlatformInfo.Detect();
            AnsiConsole.MarkupLine($"[bold]machine[/]: {Markup.Escape(platform.Cpu.Model)}, {platform.Cpu.LogicalCores} cores, {Markup.Escape(platform.Cpu.SimdSummary)}; " +
                                   (platform.Gpus.Count == 0 ? "no CUDA GPU" : Markup.Escape(string.Join(", ", platform.Gpus))));
            var m = CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed));
            int b = r.GetValue(batch);
            using var res = new ExecutionResources();
            var timings = AnsiConsole.Status().Start("profiling", ctx =>
                BlockBenchmark.Run(m, b, res, _ => true, budgetMs: 100, progress: s => ctx.Status($"profiling {s}")).ToList());
            BenchCommand.Print(new BenchCommand.LayerTable(m.Name, b, timings));
            var best = timings.GroupBy(t => t.Block).OrderBy(g => g.Key).Select(g => g.MinBy(t => t.Kernel.MedianUs)!.Configuration).ToArray();
            var images = ModelZoo.RandomImages(m.InputShape, b, r.GetValue(seed));
            var table = new Table().AddColumn("mapping").AddColumn(new TableColumn("median µs").RightAligned()).AddColumn(new TableColumn("speedup").RightAligned());
            double? baseline = null;
            foreach (var (name, assignment) in new[] { ("all cpu.scalar", Enumerable.Repeat("cpu.scalar", best.Length).ToArray()), ("per-block fastest", best) })
            {
                using var session = new InferenceSession(m, m.Layers.Count == 0 ? [] : assignment, new SessionOptions { MaxBatch = b });
                var result = RunCommand.Execute(session, images, b, repeat: 50);
                baseline ??= result.MedianLatencyUs;
                table.AddRow(name, $"{result.MedianLatencyUs:F1}", $"{baseline / result.MedianLatencyUs:F2}x");
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        return cmd;
    }
}
