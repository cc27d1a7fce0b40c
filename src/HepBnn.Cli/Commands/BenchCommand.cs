using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Planning;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn bench`: per-layer median latency of every configuration on the chosen devices.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model(required: false);
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var batches = new Option<int[]>("--batch", "-b") { Description = "batch sizes (repeatable)", DefaultValueFactory = _ => [1], AllowMultipleArgumentsPerToken = true };
        var device = new Option<string>("--device") { Description = "cpu, gpu or all", DefaultValueFactory = _ => "all" };
        var budget = new Option<double>("--budget-ms") { Description = "measuring time per block and configuration", DefaultValueFactory = _ => 200 };
        var gpu = CommonOptions.Gpu();
        var jsonOut = CommonOptions.JsonOut();
        var cmd = new Command("bench", "per-layer latency of every parallel configuration") { model, seed, batches, device, budget, gpu, json, jsonOut };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var m = CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed));
            var filter = DeviceFilter(r.GetValue(device)!);
            using var res = new ExecutionResources(gpu: CommonOptions.GpuSelection(r.GetValue(gpu)!));
            var results = new List<LayerTable>();
            foreach (int b in r.GetValue(batches)!)
            {
                if (b < 1 || b > 65536) throw new HepBnnException($"batch {b} out of range 1..65536");
                var timings = ConsoleProgress.Run($"benchmarking {m.Name} at batch {b}", status =>
                    BlockBenchmark.Run(m, b, res, filter, budgetMs: r.GetValue(budget), progress: s => status($"batch {b}: {s}")).ToList());
                results.Add(new LayerTable(m.Name, b, timings));
            }
            JsonOut.WriteFile(results, r.GetValue(jsonOut));
            if (r.GetValue(json)) JsonOut.Write(results);
            else foreach (var t in results) Print(t);
            return 0;
        }));
        return cmd;
    }

    public static Func<IKernelConfiguration, bool> DeviceFilter(string device) => device.ToLowerInvariant() switch
    {
        "cpu" => c => c.Device == DeviceKind.Cpu,
        "gpu" => c => c.Device == DeviceKind.Gpu,
        "all" => _ => true,
        _ => throw new HepBnnException($"--device must be cpu, gpu or all (got '{device}')"),
    };

    public sealed record LayerTable(string Model, int Batch, IReadOnlyList<BlockTiming> Timings);

    public static void Print(LayerTable t)
    {
        var configs = t.Timings.Select(x => x.Configuration).Distinct().ToList();
        var table = new Table().Title($"{t.Model}, batch {t.Batch}: median µs per block (fastest in green)").AddColumn("block");
        foreach (var c in configs) table.AddColumn(new TableColumn(c).RightAligned());
        table.AddColumn("fastest").AddColumn(new TableColumn("scalar/fastest").RightAligned());
        foreach (var g in t.Timings.GroupBy(x => x.BlockName))
        {
            var best = g.MinBy(x => x.Kernel.MedianUs)!;
            var cells = new List<string> { g.Key };
            foreach (var c in configs)
            {
                var x = g.FirstOrDefault(v => v.Configuration == c);
                cells.Add(x is null ? "-" : x == best ? $"[green]{x.Kernel.MedianUs:F1}[/]" : $"{x.Kernel.MedianUs:F1}");
            }
            cells.Add(best.Configuration);
            var scalar = g.FirstOrDefault(v => v.Configuration == "cpu.scalar");
            cells.Add(scalar is null ? "-" : $"{scalar.Kernel.MedianUs / best.Kernel.MedianUs:F1}x");
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        PrintTransfers(t);
    }

    /// <summary>GPU configurations: the kernel alone vs. with its input copied in and its output copied back.</summary>
    static void PrintTransfers(LayerTable t)
    {
        var gpu = t.Timings.Where(x => x.WithTransfers is not null).ToList();
        if (gpu.Count == 0) return;
        var configs = gpu.Select(x => x.Configuration).Distinct().ToList();
        var table = new Table().Title($"{t.Model}, batch {t.Batch}: GPU median µs, kernel / with transfers in+out (synchronized)").AddColumn("block");
        foreach (var c in configs) table.AddColumn(new TableColumn(c).RightAligned());
        foreach (var g in gpu.GroupBy(x => x.BlockName))
        {
            var cells = new List<string> { g.Key };
            foreach (var c in configs)
            {
                var x = g.FirstOrDefault(v => v.Configuration == c);
                cells.Add(x is null ? "-" : $"{x.Kernel.MedianUs:F1} / {x.WithTransfers!.Value.MedianUs:F1}");
            }
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
    }
}
