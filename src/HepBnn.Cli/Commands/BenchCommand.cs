using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Runtime;
using Profile = HepBnn.Planning.Profile;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn bench`: profile, map, and measure the found plan against its runners-up and the baselines in one
/// interleaved run (the verdict); `--layers` adds the per-layer latency tables, `--plot-dir` PNG charts.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model(required: false);
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var batches = OptionRules.Range(new Option<int[]>("--batch", "-b") { Description = "batch sizes (repeatable)", DefaultValueFactory = _ => [1], AllowMultipleArgumentsPerToken = true }, 1, OptionRules.MaxBatch);
        var device = PlanningOptions.Device();
        var budget = PlanningOptions.Budget();
        var profile = PlanningOptions.Profile();
        var top = PlanningOptions.Top(max: 50);
        var layers = new Option<bool>("--layers") { Description = "also print the per-layer latency of every configuration" };
        var measure = OptionRules.Range(new Option<double>("--measure-s") { Description = "seconds for measuring the plans (at least 5 interleaved rounds)", DefaultValueFactory = _ => 4 }, 0, OptionRules.MaxSeconds);
        var onnxRuntime = new Option<bool>("--onnxruntime") { Description = "also compare the found plan end to end with ONNX Runtime CPU on the float32 ONNX export (extra table)" };
        var gpu = CommonOptions.Gpu();
        var jsonOut = CommonOptions.JsonOut();
        var exclude = new Option<string[]>("--exclude") { Description = "configurations the profile leaves out (e.g. to compare with a plan found without a new one, in the same process)", AllowMultipleArgumentsPerToken = true };
        var plotDir = OptionRules.OutputDirectory(new Option<string?>("--plot-dir") { Description = "write PNG charts (per-block latency, plan vs baselines) into this folder" });
        var cmd = new Command("bench", "the found plan vs the top-k by prediction and the baselines (all-GPU fully parallel, best all-GPU, all-CPU best, best single configuration)")
            { model, seed, batches, device, budget, profile, top, measure, layers, plotDir, onnxRuntime, gpu, exclude, json, jsonOut };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var m = CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed));
            var options = PlanningOptions.From(r, device, budget, r.GetValue(seed));
            if (r.GetValue(exclude) is { Length: > 0 } left)
            {
                var names = left.Select(n => Ops.ConfigurationRegistry.Find(n).Name).ToHashSet(); // unknown names: one clear error
                var include = options.Include;
                options = options with { Include = c => include(c) && !names.Contains(c.Name) };
            }
            bool quiet = r.GetValue(json);
            int k = r.GetValue(top);
            double seconds = r.GetValue(measure);
            if (r.GetValue(profile) is not null && r.GetValue(batches)!.Length > 1) throw new HepBnnException("--profile holds one batch size: give one --batch with it");
            using var res = new ExecutionResources(gpu: CommonOptions.GpuSelection(r.GetValue(gpu)!));
            var results = new List<BenchResult>();
            foreach (int b in r.GetValue(batches)!)
            {
                PlanningOptions.CheckBatch(b);
                var census = ThreadCensus.Take(); // the threads' placement and preemptions around profiling and measuring
                var p = PlanningOptions.GetProfile(r.GetValue(profile), m, b, res, options, quiet);
                var verdictOptions = new VerdictOptions { TopK = k, BudgetSeconds = seconds, Seed = r.GetValue(seed) };
                // a spinner only on a terminal: redirected text output gets no progress lines
                var verdict = quiet ? VerdictRunner.Run(m, p, res, verdictOptions)
                    : ConsoleProgress.Run("measuring plans", status => VerdictRunner.Run(m, p, res, verdictOptions, s => status(Markup.Escape(s))));
                var charts = r.GetValue(plotDir) is { } dir ? Charts.Write(verdict, p, dir) : null;
                var result = new BenchResult(verdict, r.GetValue(layers) ? Layers(p) : null, charts);
                results.Add(result);
                if (quiet) continue;
                if (result.Layers is { } t) Print(t);
                VerdictView.Print(verdict);
                if (ThreadCensus.Summary(census, ThreadCensus.Take()) is { } threads) AnsiConsole.WriteLine(threads);
                if (charts is not null) AnsiConsole.MarkupLine($"charts: {Markup.Escape(string.Join(", ", charts))}");
            }
            var ort = r.GetValue(onnxRuntime)
                ? Baselines.OnnxRuntimeComparison.Measure(m, results.Select(x => (x.Verdict.Batch, x.Verdict.Plan.Configurations)), r.GetValue(seed), budgetMs: 500)
                : null;
            object document = ort is null ? results : new { results, onnxRuntime = ort };
            JsonOut.WriteFile(document, r.GetValue(jsonOut));
            if (quiet) JsonOut.Write(document);
            else if (ort is not null) Baselines.OnnxRuntimeComparison.Print(m.Name, ort);
            return results.Any(x => x.Verdict.ReferenceMismatches.Count > 0) ? 1 : 0;
        }));
        return cmd;
    }

    public sealed record BenchResult(Verdict Verdict, LayerTable? Layers, string[]? Charts);

    public static Func<IKernelConfiguration, bool> DeviceFilter(string device) => device.ToLowerInvariant() switch
    {
        "cpu" => c => c.Device == DeviceKind.Cpu,
        "gpu" => c => c.Device == DeviceKind.Gpu,
        "all" => _ => true,
        _ => throw new HepBnnException($"--device must be cpu, gpu or all (got '{device}')"),
    };

    /// <summary>The per-layer table of a profile (derived in the library: <see cref="LayerTable.From"/>).</summary>
    public static LayerTable Layers(Profile p) => LayerTable.From(p);

    /// <summary>One row per configuration and one column per block: there are 20 configurations and 4–9 blocks, so this
    /// way round the table fits a terminal without cutting the names.</summary>
    public static void Print(LayerTable t)
    {
        var configs = t.Timings.Select(x => x.Configuration).Distinct().ToList();
        var blocks = t.Timings.GroupBy(x => x.BlockName).ToList();
        var table = new Table().Title($"{t.Model}, batch {t.Batch}: median µs per block (fastest in green, ~ = abandoned early as far slower than the best)")
            .AddColumn("configuration");
        foreach (var g in blocks) table.AddColumn(new TableColumn(g.Key).RightAligned());
        var best = blocks.ToDictionary(g => g.Key, g => g.MinBy(x => x.Kernel.MedianUs)!);
        foreach (var c in configs)
            table.AddRow([c, .. blocks.Select(g => g.FirstOrDefault(v => v.Configuration == c) is not { } x ? "-"
                : x == best[g.Key] ? $"[green]{x.Kernel.MedianUs:F1}[/]" : $"{(x.Pruned ? "~" : "")}{x.Kernel.MedianUs:F1}")]);
        table.AddRow(["[dim]cpu.scalar / fastest[/]", .. blocks.Select(g => g.FirstOrDefault(v => v.Configuration == "cpu.scalar") is { } s
            ? $"[dim]{s.Kernel.MedianUs / best[g.Key].Kernel.MedianUs:F1}x[/]" : "-")]);
        AnsiConsole.Write(table);
        PrintTransfers(t);
    }

    /// <summary>GPU configurations: the kernel alone vs. with its input copied in and its output copied back.</summary>
    static void PrintTransfers(LayerTable t)
    {
        var gpu = t.Timings.Where(x => x.WithTransfers is not null).ToList();
        if (gpu.Count == 0) return;
        var blocks = gpu.GroupBy(x => x.BlockName).ToList();
        var table = new Table().Title($"{t.Model}, batch {t.Batch}: GPU median µs, kernel / with transfers in+out (synchronized)").AddColumn("configuration");
        foreach (var g in blocks) table.AddColumn(new TableColumn(g.Key).RightAligned());
        foreach (var c in gpu.Select(x => x.Configuration).Distinct())
            table.AddRow([c, .. blocks.Select(g => g.FirstOrDefault(v => v.Configuration == c) is { } x
                ? $"{x.Kernel.MedianUs:F1} / {x.WithTransfers!.Value.MedianUs:F1}" : "-")]);
        AnsiConsole.Write(table);
    }
}
