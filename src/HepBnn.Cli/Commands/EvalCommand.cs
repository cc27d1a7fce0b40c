using System.CommandLine;
using System.Diagnostics;
using HepBnn.Cli.Output;
using HepBnn.Evaluation;
using HepBnn.Formats.Datasets;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn eval`: top-1 accuracy, per-class accuracy and confusion matrix of a model on a labelled test set.</summary>
public static class EvalCommand
{
    public const string DefaultConfig = "cpu.mt-batch";

    public static Command Create()
    {
        var model = CommonOptions.Model();
        var seed = CommonOptions.Seed();
        var batch = CommonOptions.Batch(defaultValue: 256);
        var json = CommonOptions.Json();
        var data = new Option<string>("--data", "-d")
        {
            Description = "dataset directory: IDX (t10k-images-idx3-ubyte[.gz] + labels) or CIFAR-10 binary (test_batch.bin[.gz])",
            DefaultValueFactory = _ => DatasetDirectory.FashionMnistPackageDir,
        };
        var train = new Option<bool>("--train") { Description = "evaluate the training split instead of the test split" };
        var limit = new Option<int?>("--limit") { Description = "only the first N images" };
        var config = new Option<string?>("--config") { Description = $"configuration for every block (default {DefaultConfig})" };
        var plan = new Option<string?>("--plan") { Description = "run a plan from `hepbnn map` instead of one --config everywhere" };
        var png = new Option<string?>("--png") { Description = "also write the confusion matrix as a PNG chart to this file" };
        var cmd = new Command("eval", "accuracy of a model on a labelled dataset: top-1, per class, confusion matrix, images/s")
            { model, seed, data, train, limit, batch, config, plan, png, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            if (r.GetValue(plan) is not null && r.GetValue(config) is not null) throw new HepBnnException("give --plan or --config, not both");
            bool quiet = r.GetValue(json);
            int b = PlanningOptions.CheckBatch(r.GetValue(batch));
            string dir = r.GetValue(data)!;
            // The reader thread decodes the first batches on the second core while the model loads and compiles
            // (~0.1–0.2 s each on 2 cores); inference then takes each batch as soon as it is read.
            var reading = ReadAsync(dir, r.GetValue(train), Math.Min(b, Math.Max(1, r.GetValue(limit) ?? int.MaxValue)), r.GetValue(limit));
            var m = CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed));
            var report = Run(m, dir, reading, r.GetValue(limit), b, r.GetValue(config), r.GetValue(plan), r.GetValue(seed), quiet);
            if (r.GetValue(png) is { } file) report = report with { ConfusionPng = Charts.WriteConfusion(report.Result.Confusion, report.ClassNames, $"{m.Name} on {Path.GetFileName(Path.TrimEndingDirectorySeparator(dir))}", file) };
            if (quiet) JsonOut.Write(report.ToJson());
            else Print(report);
            return 0;
        }));
        return cmd;
    }

    public sealed record Report(string Model, string Data, string Format, int Batch, string RunsOn, string[] Configurations,
                                EvaluationResult Result, IReadOnlyList<string> ClassNames, double ReadSeconds, double WaitSeconds)
    {
        public string? ConfusionPng { get; init; }

        public object ToJson() => new
        {
            Model, Data, Format, Batch, RunsOn, Configurations,
            Images = Result.Count, Correct = Result.Confusion.Correct, Result.Accuracy,
            PerClass = Enumerable.Range(0, Result.Confusion.Classes).Select(c => new
            {
                Class = c, Name = ClassNames[c], Images = Result.Confusion.Support(c),
                Accuracy = Result.Confusion.Support(c) > 0 ? Result.Confusion.ClassAccuracy(c) : (double?)null,
            }).ToArray(),
            Confusion = Result.Confusion.Rows(),
            Result.InferenceSeconds, Result.ImagesPerSecond, ReadSeconds, WaitSeconds, ConfusionPng,
        };
    }

    /// <summary>The dataset being read batch by batch on its own thread (<see cref="BatchPrefetcher"/>), or the
    /// error opening it (rethrown when the evaluation starts, as reading the whole set did).</summary>
    public sealed class Reading(string directory, bool train, Func<BatchPrefetcher> open) : IDisposable
    {
        readonly Lazy<BatchPrefetcher> _batches = new(open);
        public string Directory { get; } = directory;
        public bool Train { get; } = train;
        public BatchPrefetcher Batches => _batches.Value;
        public void Dispose() { if (_batches.IsValueCreated) _batches.Value.Dispose(); }
    }

    /// <summary>Starts reading the split of <paramref name="dir"/> in batches of <paramref name="batch"/> images
    /// (about 32 MiB of them read ahead; HEPBNN_EVAL_PREFETCH_MB overrides it for measurements).</summary>
    public static Reading ReadAsync(string dir, bool train, int batch, int? limit = null)
    {
        BatchPrefetcher Open()
        {
            var stream = DatasetDirectory.Open(dir, train);
            try
            {
                return new BatchPrefetcher(stream, batch, BatchPrefetcher.DepthFor(stream.Shape, batch, PrefetchBytes()), limit);
            }
            catch { stream.Dispose(); throw; }
        }
        var reading = new Reading(dir, train, Open);
        try { _ = reading.Batches; } catch (HepBnnException) { } // started now; the error surfaces again when evaluating
        return reading;
    }

    /// <summary>HEPBNN_EVAL_PREFETCH_MB (measurements): MiB of batches read ahead, default 32.</summary>
    static long PrefetchBytes()
    {
        string? raw = Environment.GetEnvironmentVariable("HEPBNN_EVAL_PREFETCH_MB");
        if (string.IsNullOrWhiteSpace(raw)) return BatchPrefetcher.DefaultBytes;
        if (int.TryParse(raw.Trim(), out int mb) && mb is >= 1 and <= 65536) return (long)mb << 20;
        throw new HepBnnException($"HEPBNN_EVAL_PREFETCH_MB must be a whole number of MiB, 1..65536 (got '{raw}')");
    }

    /// <summary>Reads the dataset, builds the session (plan, configuration or the default), evaluates.</summary>
    public static Report Run(BnnModel m, string dir, bool train, int? limit, int batch, string? config, string? planPath, int seed, bool quiet) =>
        Run(m, dir, ReadAsync(dir, train, Math.Min(batch, Math.Max(1, limit ?? int.MaxValue)), limit), limit, batch, config, planPath, seed, quiet);

    /// <summary>As above with the reading already under way: the model compiles and the session is built meanwhile
    /// (building it — weight layouts, threshold tables, worker threads, first-call JIT — overlaps the first batches'
    /// reading on 2 cores; the batch is capped by --limit here and by the image count only when printed).</summary>
    public static Report Run(BnnModel m, string dir, Reading reading, int? limit, int batch, string? config, string? planPath, int seed, bool quiet)
    {
        using var _ = reading;
        bool train = reading.Train;
        if (limit is < 1) throw new HepBnnException($"--limit {limit}: expected at least 1 image");
        string runsOn;
        InferenceSession session;
        var options = new SessionOptions { MaxBatch = Math.Min(batch, Math.Max(1, limit ?? int.MaxValue)) };
        if (planPath is not null)
        {
            var p = RunCommand.PlanForRun(m, planPath, remap: false, seed, quiet, out var fallback);
            session = new InferenceSession(m, p, options);
            runsOn = fallback is null ? $"plan {planPath}" : $"best CPU plan (the plan's GPU is unusable: {fallback.Reason})";
        }
        else
        {
            string c = config ?? DefaultConfig;
            session = new InferenceSession(CompiledModel.Of(m), c, options);
            runsOn = $"{c} for every block";
        }
        using (session)
        {
            var batches = reading.Batches; // rethrows the opening's own HepBnnException
            var format = DatasetDirectory.Detect(dir);
            string name = $"{dir} ({(train ? "training" : "test")} split)";
            var result = ConsoleProgress.Run("evaluating", status =>
                DatasetEvaluator.Evaluate(session, batches, name, done => status($"evaluating: {done} images")));
            var names = Enumerable.Range(0, session.ScoresPerImage).Select(i => NameOf(m, dir, format, i)).ToArray();
            return new Report(m.Name, dir, format == DatasetFormat.Cifar10 ? "CIFAR-10 binary" : "IDX", Math.Min(options.MaxBatch, result.Count), runsOn,
                              session.Assignment.Select(a => a.Name).ToArray(), result, names, batches.ReadSeconds, batches.WaitSeconds);
        }
    }

    /// <summary>The model's class name, else the dataset's (CIFAR-10 names its classes), else "class N".</summary>
    static string NameOf(BnnModel m, string dir, DatasetFormat format, int i) =>
        m.ClassNames is not null || format != DatasetFormat.Cifar10 || i >= 10 ? m.ClassName(i) : DatasetDirectory.Cifar10ClassNames[i];

    public static void Print(Report rep)
    {
        var res = rep.Result;
        var cm = res.Confusion;
        AnsiConsole.MarkupLine($"model [bold]{Markup.Escape(rep.Model)}[/] on {Markup.Escape(rep.Data)} ({rep.Format}, {res.Count} images), batch {rep.Batch}");
        AnsiConsole.MarkupLine($"runs on: {Markup.Escape(rep.RunsOn)}" +
                               (rep.Configurations.Distinct().Count() > 1 ? $" ({Markup.Escape(PlanView.Summary(rep.Configurations))})" : ""));
        AnsiConsole.MarkupLine($"top-1 accuracy: [bold]{100 * res.Accuracy:F2}%[/] ({cm.Correct}/{cm.Total})");
        var perClass = new Table().AddColumn("class").AddColumn("name").AddColumn(new TableColumn("images").RightAligned()).AddColumn(new TableColumn("accuracy").RightAligned());
        for (int c = 0; c < cm.Classes; c++)
            perClass.AddRow(c.ToString(), Markup.Escape(rep.ClassNames[c]), cm.Support(c).ToString(),
                            cm.Support(c) > 0 ? $"{100 * cm.ClassAccuracy(c):F1}%" : "-");
        AnsiConsole.Write(perClass);
        var t = new Table().Title("confusion matrix (rows: true class, columns: predicted)").AddColumn("true \\ predicted");
        for (int c = 0; c < cm.Classes; c++) t.AddColumn(new TableColumn(c.ToString()).RightAligned());
        for (int a = 0; a < cm.Classes; a++)
            t.AddRow([$"{a} {Markup.Escape(Short(rep.ClassNames[a]))}", .. Enumerable.Range(0, cm.Classes).Select(p =>
                cm[a, p] == 0 ? "[grey]·[/]" : a == p ? $"[green]{cm[a, p]}[/]" : cm[a, p].ToString())]);
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine($"speed: {res.Count} images in {res.InferenceSeconds:F2} s of inference ([bold]{res.ImagesPerSecond:F0} images/s[/]); " +
                               $"reading the data took {rep.ReadSeconds:F2} s on the reader thread (inference waited {rep.WaitSeconds:F2} s for it)");
        if (rep.ConfusionPng is { } png) AnsiConsole.MarkupLine($"confusion matrix chart: {Markup.Escape(png)}");
    }

    static string Short(string s) => s.Length <= 14 ? s : s[..13] + "…";
}
