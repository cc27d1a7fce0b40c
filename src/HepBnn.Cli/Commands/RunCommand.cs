using System.CommandLine;
using System.Diagnostics;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn run`: one inference of generated images, printing scores, argmax and latency.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var seed = CommonOptions.Seed();
        var batch = CommonOptions.Batch();
        var json = CommonOptions.Json();
        var config = new Option<string>("--config") { Description = "configuration for every block (see `hepbnn info`)", DefaultValueFactory = _ => "cpu.mt-rows" };
        var repeat = OptionRules.Range(new Option<int>("--repeat") { Description = "timed repetitions after warm-up", DefaultValueFactory = _ => 20 }, 1, OptionRules.MaxRepeat);
        var plan = new Option<string?>("--plan") { Description = "run a plan from `hepbnn map` instead of one --config everywhere" };
        var ioBinding = new Option<bool>("--io-binding") { Description = "time runs on the session's own page-locked input/score buffers (InferenceSession.RunWithBinding: no host copies) instead of Run" };
        var compareWait = new Option<bool>("--compare-wait") { Description = "also time the same plan in one session per GPU completion wait (sync, query, word; HEPBNN_GPU_WAIT), runs interleaved, and print each one's median" };
        var remap = new Option<bool>("--remap") { Description = "when the plan does not fit this model or machine, profile and map again instead of refusing" };
        var cmd = new Command("run", "run a model on generated images and print class scores and latency") { model, seed, batch, config, plan, remap, repeat, ioBinding, compareWait, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            int s = r.GetValue(seed);
            bool quiet = r.GetValue(json);
            var m = CommonOptions.LoadModel(r.GetValue(model)!, s);
            int b = r.GetValue(batch);
            GpuFallback.Info? fallback = null;
            Runtime.Plan? p = r.GetValue(plan) is { } path ? PlanForRun(m, path, r.GetValue(remap), s, quiet, out fallback) : null;
            if (p is not null && r.GetResult(batch) is not { Implicit: false }) b = p.Batch;
            string? note = p is not null && b != p.Batch
                ? $"note: the plan was mapped for batch {p.Batch}; running it at batch {b}, where another mapping may be faster " +
                  $"(its predicted times are for batch {p.Batch}; `hepbnn map --batch {b}` maps for this batch)"
                : null;
            if (note is not null) Console.Error.WriteLine($"hepbnn: {note}");
            var images = ModelZoo.RandomImages(m.InputShape, b, s);
            RunResult result;
            try { result = RunOnce(m, p, r.GetValue(config)!, images, b, r.GetValue(repeat), r.GetValue(ioBinding)); }
            catch (GpuUnavailableException e) when (fallback is null)
            {
                // the GPU was there but failed (driver, out of memory, a launch): the best CPU plan instead
                fallback = GpuFallback.Announce(e.Message);
                result = RunOnce(m, GpuFallback.BestCpuPlan(m, b, s, quiet), null, images, b, r.GetValue(repeat));
            }
            if (r.GetValue(ioBinding))
                note = (note is null ? "" : note + "; ") + "timed with I/O binding (InferenceSession.RunWithBinding on the session's page-locked buffers: no host copies)";
            result = result with { Fallback = fallback, Note = note };
            if (r.GetValue(compareWait) && fallback is null)
                result = result with { WaitComparison = CompareWaits(m, p, r.GetValue(config)!, images, b, r.GetValue(repeat)) };
            if (quiet) JsonOut.Write(result);
            else Print(result);
            return 0;
        }));
        return cmd;
    }

    static RunResult RunOnce(BnnModel m, Runtime.Plan? plan, string? config, byte[] images, int batch, int repeat, bool ioBinding = false)
    {
        using var session = plan is null ? new InferenceSession(m, config!, new SessionOptions { MaxBatch = batch })
                                         : new InferenceSession(m, plan, new SessionOptions { MaxBatch = batch });
        return Execute(session, images, batch, repeat, ioBinding);
    }

    /// <summary>Loads and validates a plan; one that does not fit is refused, or with --remap replaced by a fresh mapping.
    /// A plan that uses the GPU on a machine without a usable one (but made for this model) becomes the best CPU plan.</summary>
    internal static Runtime.Plan PlanForRun(BnnModel model, string path, bool remap, int seed, bool quiet, out GpuFallback.Info? fallback)
    {
        fallback = null;
        var raw = Planning.PlanFile.ReadUnvalidated(path);
        if (GpuFallback.UsesGpu(raw.Blocks) && FitsModel(raw, model, path))
        {
            using var probe = new ExecutionResources(cpuThreads: 1);
            if (probe.Gpu is null)
            {
                fallback = GpuFallback.Announce(probe.GpuProblem ?? "no GPU");
                return GpuFallback.BestCpuPlan(model, raw.Batch, seed, quiet);
            }
        }
        try { return Planning.PlanFile.Load(path, model); }
        catch (Runtime.PlanMismatchException e) when (remap)
        {
            Output.ProfileRunner.Status($"[yellow]{Markup.Escape(e.Message)}[/]: re-mapping (--remap)");
            var plan = Planning.Planner.Map(RemapProfile(model, raw.Batch, seed))[0];
            Output.ProfileRunner.Status($"re-mapped: predicted {plan.PredictedTotalUs:F1} µs ({Markup.Escape(Output.PlanView.Summary(plan.Configurations))}); save it with `hepbnn map`");
            return plan;
        }
    }

    /// <summary>Whether the plan was made for this model (hash, blocks, configurations), whatever machine it was made on.</summary>
    static bool FitsModel(Runtime.Plan plan, BnnModel model, string path)
    {
        try { Runtime.PlanValidator.Validate(plan, model, plan.Platform, $"plan '{path}'"); return true; }
        catch (Runtime.PlanMismatchException) { return false; }
    }

    static Planning.Profile RemapProfile(BnnModel model, int batch, int seed)
    {
        using var res = new ExecutionResources();
        return Output.ProfileRunner.Run(model, batch, res, new Planning.ProfileOptions { Seed = seed });
    }

    public sealed record RunResult(string Model, int Batch, string[] Configurations, double MedianLatencyUs, double[][] Scores, int[] Predictions)
    {
        /// <summary>Set when the GPU was unusable and the best CPU plan ran instead (null otherwise).</summary>
        public GpuFallback.Info? Fallback { get; init; }
        /// <summary>E.g. that the plan was mapped for another batch (null otherwise).</summary>
        public string? Note { get; init; }
        /// <summary>How the GPU blocks ran (graphs, host I/O: a plan's measured choice shows here), null without GPU blocks.</summary>
        public string? GpuExecution { get; init; }
        /// <summary>With --compare-wait: each GPU completion wait's median over interleaved runs of one session each (null otherwise).</summary>
        public IReadOnlyList<WaitRun>? WaitComparison { get; init; }
        /// <summary>With HEPBNN_HOST_TIMING=1: median µs of each step of a timed run (<see cref="HostPathTiming"/>), else null.</summary>
        public IReadOnlyDictionary<string, double>? HostPath { get; init; }
    }

    /// <param name="ioBinding">time <see cref="InferenceSession.RunWithBinding"/> on the session's own buffers (the images
    /// written there once, the scores checked against <c>Run</c>'s) instead of <c>Run</c>.</param>
    public static RunResult Execute(InferenceSession session, byte[] images, int batch, int repeat, bool ioBinding = false)
    {
        var scores = new double[batch * session.ScoresPerImage];
        session.Run(images, batch, scores);
        var raw = new int[batch * session.ScoresPerImage];
        session.Run(images, batch, raw);
        var binding = ioBinding ? session.CreateIoBinding() : null;
        if (binding is not null)
        {
            images.CopyTo(binding.Input(batch));
            session.RunWithBinding(binding, batch);
            if (!binding.RawScores(batch).SequenceEqual(raw)) throw new HepBnnException("RunWithBinding's scores differ from Run's");
        }
        var times = new List<double>();
        HostPathTiming.Reset();
        for (int i = 0; i < Math.Max(1, repeat); i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            if (binding is not null) session.RunWithBinding(binding, batch);
            else session.Run(images, batch, raw);
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }
        var perImage = Enumerable.Range(0, batch).Select(n => scores.AsSpan(n * session.ScoresPerImage, session.ScoresPerImage).ToArray()).ToArray();
        return new RunResult(session.Model.Name, batch, session.Assignment.Select(c => c.Name).ToArray(),
            Planning.TimingStats.From(times).MedianUs, perImage, perImage.Select(s => InferenceSession.ArgMax(s)).ToArray())
            {
                GpuExecution = session.Assignment.Any(c => c.Device == DeviceKind.Gpu) ? session.GpuExecution : null,
                HostPath = HostPathTiming.Enabled ? HostPathTiming.Medians() : null,
            };
    }

    /// <summary>One session's timing in <see cref="CompareWaits"/>: <paramref name="PairedRatio"/> is the median over
    /// rounds of this session's run ÷ the sync session's run of the same round.</summary>
    public sealed record WaitRun(string Wait, string GpuExecution, Planning.TimingStats Time, double PairedRatio);

    /// <summary>The plan in one session per <see cref="GpuWait"/>, run round-robin (one run each per round) so that the
    /// machine's drift hits every way alike; each session's scores are checked against the first one's.</summary>
    static List<WaitRun> CompareWaits(BnnModel m, Runtime.Plan? plan, string config, byte[] images, int batch, int repeat)
    {
        var waits = Enum.GetValues<GpuWait>();
        var sessions = new List<InferenceSession>();
        // One GPU context, stream and CPU worker pool for all: three pools would spin against each other between runs.
        using var resources = new ExecutionResources();
        var compiled = Ops.CompiledModel.Of(m);
        try
        {
            foreach (var w in waits)
            {
                var options = new SessionOptions { MaxBatch = batch, GpuWait = w };
                sessions.Add(plan is null
                    ? new InferenceSession(compiled, Enumerable.Repeat(Ops.ConfigurationRegistry.Find(config), compiled.Blocks.Count).ToArray(), options, resources)
                    : new InferenceSession(compiled, plan, options, resources));
            }
            var expected = new int[batch * sessions[0].ScoresPerImage];
            var raw = new int[expected.Length];
            var times = waits.Select(_ => new List<double>()).ToArray();
            for (int round = -10; round < Math.Max(1, repeat); round++)
                for (int i = 0; i < sessions.Count; i++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    sessions[i].Run(images, batch, i == 0 ? expected : raw);
                    double us = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                    if (i > 0 && !raw.AsSpan().SequenceEqual(expected))
                        throw new HepBnnException($"the session waiting by {waits[i]} gave other scores than the one waiting by {waits[0]}");
                    if (round >= 0) times[i].Add(us);
                }
            return [.. waits.Select((w, i) => new WaitRun(w.ToString().ToLowerInvariant(), sessions[i].GpuExecution, Planning.TimingStats.From(times[i]),
                Planning.TimingStats.From([.. times[i].Select((t, k) => t / times[0][k])]).MedianUs))];
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    static void Print(RunResult r)
    {
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(r.Model)}[/], batch {r.Batch}, configurations: {Markup.Escape(string.Join(" ", r.Configurations.Distinct()))}");
        var t = new Table().AddColumn("image").AddColumn("argmax").AddColumn("scores");
        for (int n = 0; n < Math.Min(r.Batch, 16); n++)
            t.AddRow(n.ToString(), r.Predictions[n].ToString(), string.Join(" ", r.Scores[n].Select(s => s.ToString("F2"))));
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine($"median latency: [bold]{r.MedianLatencyUs:F1} µs[/] per batch ({r.MedianLatencyUs / r.Batch:F1} µs per image)");
        foreach (var w in r.WaitComparison ?? [])
            AnsiConsole.MarkupLine($"wait {w.Wait}: [bold]{w.Time.MedianUs:F1} µs[/] (p10..p90 {w.Time.P10Us:F1}..{w.Time.P90Us:F1}), paired ratio to sync {w.PairedRatio:F3}; {Markup.Escape(w.GpuExecution)}");
        if (r.HostPath is { Count: > 0 } path)
            AnsiConsole.MarkupLine("host path (medians, HEPBNN_HOST_TIMING): " + string.Join(", ", path.Select(p => $"{Markup.Escape(p.Key)} {p.Value:F2} µs")));
        if (r.GpuExecution is not null) AnsiConsole.MarkupLine($"GPU blocks: {Markup.Escape(r.GpuExecution)}");
        if (r.Note is not null) AnsiConsole.MarkupLine($"[dim]{Markup.Escape(r.Note)}[/]");
    }
}
