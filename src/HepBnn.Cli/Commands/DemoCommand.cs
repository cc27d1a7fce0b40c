using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Evaluation;
using HepBnn.Formats;
using HepBnn.Formats.Datasets;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Reference;
using HepBnn.Runtime;
using Spectre.Console;
using Profile = HepBnn.Planning.Profile;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn demo`: info → profile → map → run (checked against the reference, accuracy on the bundled sample of
/// real test images) → verdict, on the shipped trained VGG3 (or a built-in model with random weights when it is absent).</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = $"a .hbnn/.onnx file or vgg3/vgg7 (random weights); default: the shipped models/{ShippedModels.Vgg3FashionMnist}" };
        var seed = CommonOptions.Seed();
        var batch = CommonOptions.Batch(defaultValue: 16);
        var device = PlanningOptions.Device();
        var budget = PlanningOptions.Budget(defaultValue: 3);
        var plotDir = OptionRules.OutputDirectory(new Option<string?>("--plot-dir") { Description = "write PNG charts into this folder" });
        var json = CommonOptions.Json();
        var cmd = new Command("demo", "profile this machine, map the built-in model, run the plan and compare it with the baselines") { model, seed, batch, device, budget, plotDir, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            bool quiet = r.GetValue(json);
            // with --json the step lines go to stderr and the tables are left out: stdout holds one JSON document
            var console = quiet ? Err : AnsiConsole.Console;
            void Step(int n, string what) => console.Write(new Rule($"[bold]{n}/5 {what}[/]").LeftJustified());
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var platform = PlatformInfo.Detect();
            Step(1, "info");
            console.MarkupLine($"machine: {Markup.Escape(platform.Cpu.Model)}, {platform.Cpu.LogicalCores} cores, {Markup.Escape(platform.Cpu.SimdSummary)}; " +
                                   (platform.Gpus.Count == 0 ? "no CUDA GPU" : Markup.Escape(string.Join(", ", platform.Gpus))));
            console.MarkupLine($"configurations: {Markup.Escape(string.Join(", ", ConfigurationRegistry.All.Where(c => BenchCommand.DeviceFilter(r.GetValue(device)!)(c)).Select(c => c.Name)))}");
            var (m, origin) = ChooseModel(r.GetValue(model), r.GetValue(seed));
            int b = PlanningOptions.CheckBatch(r.GetValue(batch));
            console.MarkupLine($"model: {Markup.Escape(m.Name)} ({m.InputShape} input, {m.Layers.Count} layers), batch {b}: {Markup.Escape(origin)}");
            var real = SampleFor(m);
            console.MarkupLine(real is null ? "test images: none bundled for this input shape; generated images for latency, no accuracy"
                                                : $"test images: {real.Value.Images.Count} real ones bundled in {Markup.Escape(real.Value.Path)}");
            using var res = new ExecutionResources();

            var fallback = GpuFallback.BeforePlanning(res, r.GetValue(device)!);
            int sample = Math.Max(32, b);
            var images = real is { } rs && rs.Images.Count >= sample ? rs.Images.Batch(0, sample).ToArray() : ModelZoo.RandomImages(m.InputShape, sample, r.GetValue(seed));
            EvaluationResult? accuracy = null;
            // steps 2-4; a GPU that fails on the way (out of memory, driver) sends them round again with the CPU only
            Plan? plan = null;
            RunCommand.RunResult? run = null;
            int agree = 0, total = 0;
            var (profile, fallbackUsed) = GpuFallback.Run(include =>
            {
                Step(2, "profile");
                var options = PlanningOptions.From(r, device, budget, r.GetValue(seed)) with { CalibrationBudgetSeconds = 1.5 };
                var profile = ProfileRunner.Run(m, b, res, include is null ? options : options with { Include = include }, quiet);
                if (!quiet) BenchCommand.Print(BenchCommand.Layers(profile));

                Step(3, "map");
                var plans = Planner.Map(profile, 5);
                if (!quiet) PlanView.Print(plans[0]);
                plan = plans[0];

                Step(4, "run");
                using var session = new InferenceSession(m, plans[0]);
                run = RunCommand.Execute(session, images[..(int)(b * m.InputShape.Elements)], b, repeat: 20);
                console.MarkupLine($"planned session: median {run.MedianLatencyUs:F1} µs per batch of {b} ({run.MedianLatencyUs / b:F1} µs per image); " +
                                       $"predictions of the first images: {string.Join(" ", run.Predictions.Take(8))}");
                (agree, total) = ReferenceAgreement.Check(session, images, sample);
                console.MarkupLine($"agreement with reference: [{(agree == total ? "green" : "red")}]{agree}/{total}[/] images with identical integer scores");
                if (agree != total) throw new HepBnnException($"the planned session disagrees with the reference on {total - agree} of {total} images");
                if (real is { } r2)
                {
                    accuracy = DatasetEvaluator.Evaluate(session, r2.Images, dataName: r2.Path);
                    console.MarkupLine($"accuracy on the bundled test images: [bold]{100 * accuracy.Accuracy:F2}%[/] ({accuracy.Confusion.Correct}/{accuracy.Count}) " +
                                           $"with the planned session ({accuracy.ImagesPerSecond:F0} images/s at batch {b})");
                }
                return profile;
            }, fallback);

            Step(5, "verdict");
            var verdict = ConsoleProgress.Run("measuring plans", status =>
                VerdictRunner.Run(m, profile, res, new VerdictOptions { BudgetSeconds = 3, Seed = r.GetValue(seed) }, s => status(Markup.Escape(s))));
            if (!quiet) VerdictView.Print(verdict);
            var found = verdict.Rows.FirstOrDefault(x => x.Measured is not null);
            console.MarkupLine($"summary: {Markup.Escape(m.Name)} " +
                (accuracy is null ? "(no bundled test images: accuracy not measured)" : $"[bold]{100 * accuracy.Accuracy:F2}%[/] top-1 on {accuracy.Count} real test images") +
                (found?.Measured is { } fm ? $", found plan [bold]{fm.MedianUs:F1} µs[/] per batch of {b} (baselines above)" : ""));
            var charts = r.GetValue(plotDir) is { } dir ? Charts.Write(verdict, profile, dir) : null;
            if (charts is not null) console.MarkupLine($"charts: {Markup.Escape(string.Join(", ", charts))}");
            console.MarkupLine($"demo finished in {clock.Elapsed.TotalSeconds:F1} s");
            if (quiet)
                JsonOut.Write(new { platform, model = m.Name, modelOrigin = origin, batch = b, plan, run = run! with { Scores = [] }, agreement = new { agree, total },
                                    accuracy = accuracy is null ? null : new { accuracy.Accuracy, accuracy.Count, correct = accuracy.Confusion.Correct },
                                    verdict, charts, fallback = fallbackUsed, seconds = clock.Elapsed.TotalSeconds });
            return 0;
        }));
        return cmd;
    }

    static readonly IAnsiConsole Err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    /// <summary>The model named with --model; without one the shipped trained VGG3, or the built-in random one (said so).</summary>
    static (BnnModel Model, string Origin) ChooseModel(string? spec, int seed)
    {
        if (spec is not null)
            return (CommonOptions.LoadModel(spec, seed), ModelZoo.TryGet(spec, seed) is null ? $"from {spec}" : $"built-in architecture with random weights (seed {seed})");
        if (ShippedModels.Find(ShippedModels.Vgg3FashionMnist) is { } path)
            return (ModelLoader.Load(path), $"trained on Fashion-MNIST, shipped in {path}");
        return (ModelZoo.Vgg3(seed), $"built-in VGG3 with RANDOM weights (seed {seed}): the trained models/{ShippedModels.Vgg3FashionMnist} was not found");
    }

    /// <summary>The bundled real test images whose shape the model takes (Fashion-MNIST 28×28×1, CIFAR-10 32×32×3), or null.</summary>
    static (string Path, LabeledImages Images)? SampleFor(BnnModel m)
    {
        foreach (var name in new[] { ShippedModels.FashionMnistSample, ShippedModels.Cifar10Sample })
        {
            if (ShippedModels.Find(name) is not { } dir) continue;
            var set = DatasetDirectory.Load(dir);
            if (set.Shape == m.InputShape && set.Labels.All(l => l < m.NumClasses)) return (dir, set);
        }
        return null;
    }

}
