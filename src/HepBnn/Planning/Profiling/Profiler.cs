using System.Diagnostics;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Planning;

/// <summary>
/// Profiles a model at one batch size on this machine: every block in every applicable configuration on every
/// available device (<see cref="BlockBenchmark"/>), every boundary tensor's transfer cost (<see cref="TransferBenchmark"/>),
/// then calibrates against a few whole plans (<see cref="Calibrator"/>).
/// </summary>
public static class Profiler
{
    public static Profile Run(BnnModel model, int batch, ExecutionResources res, ProfileOptions? options = null, Action<ProfileProgress>? progress = null)
    {
        options ??= new ProfileOptions();
        if (batch < 1 || batch > 1 << 16) throw new HepBnnException($"batch {batch} out of range 1..65536");
        var clock = Stopwatch.StartNew();
        var blocks = BlockCompiler.Compile(model);
        int entries = blocks.Sum(b => BlockBenchmark.Candidates(b, res, options.Include).Count());
        if (blocks.Any(b => !BlockBenchmark.Candidates(b, res, options.Include).Any()))
            throw new HepBnnException("no available configuration supports every block (check the device filter)");
        double entryMs = Math.Clamp(options.KernelBudgetSeconds * 1000 / entries, options.MinMeasurementMs, options.MaxMeasurementMs);
        var devices = TransferBenchmark.Accelerators(res, options.Include);
        int transfers = TransferBenchmark.Count(blocks, batch, devices);
        double transferMs = transfers == 0 ? 0 : Math.Clamp(options.TransferBudgetSeconds * 1000 / transfers, 0.5, 50);
        double calibrationMs = options.CalibrationPlans > 0 ? options.CalibrationBudgetSeconds * 1000 : 0;
        double total = entries * entryMs + transfers * transferMs + calibrationMs, done = 0;
        void Report(string step) => progress?.Invoke(new ProfileProgress(step, Math.Min(done, total), total));

        var timings = new List<BlockTiming>();
        string current = "";
        foreach (var t in BlockBenchmark.Run(blocks, batch, res, options.Include,
                     new BenchmarkPolicy(entryMs, options.PruneFactor, options.MinSamples), options.Seed, s => Report(current = s)))
        {
            timings.Add(t);
            done += entryMs;
            Report(current);
        }
        var moves = new List<TransferProfile>();
        foreach (var t in TransferBenchmark.Run(blocks, batch, res, devices, transferMs, s => Report(current = s)))
        {
            if (!moves.Any(m => m.Words == t.Words && m.Device == t.Device && m.Direction == t.Direction)) done += transferMs;
            moves.Add(t);
            Report(current);
        }
        var profile = new Profile(Profile.FormatId, model.Name, ModelHash.Compute(model), batch, PlanValidator.CurrentPlatform, DateTime.UtcNow, 0,
            blocks.Select(b => new BlockProfile(b.Index, b.Name, b.InputBufferWords(batch), b.OutputBufferWords(batch),
                timings.Where(t => t.Block == b.Index).Select(t => new ConfigurationTiming(t.Configuration, t.Device,
                    t.Kernel.MedianUs, t.Kernel.P10Us, t.Kernel.P90Us, t.Kernel.Samples, t.Pruned)).ToList())).ToList(),
            moves, null);
        if (options.CalibrationPlans > 0)
        {
            double start = done;
            var calibration = Calibrator.Run(model, blocks, profile, res, options,
                ms => { done = Math.Max(done, start + Math.Min(ms, calibrationMs)); Report("calibrating on whole plans"); });
            profile = profile with { Calibration = calibration };
        }
        done = total;
        Report("done");
        return profile with { ProfilingSeconds = clock.Elapsed.TotalSeconds };
    }
}
