using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Planning;

/// <summary>
/// Measures whole plans with their GPU segments moving input and output as copies (memcpy nodes), with a mapped host
/// output and with mapped host input and output (<see cref="GpuHostIo"/>), every plan in every mode interleaved in the
/// same rounds. Which mode is fastest depends on the plan and the batch (VGG7 b1 on the H200: mapped 1.14x faster;
/// b256: mapped input 1.03x slower, docs/results/h200-session6-final), so the planner decides by measurement, not by rule.
/// </summary>
public static class HostIoBenchmark
{
    static readonly GpuHostIo[] Modes = [GpuHostIo.Copies, GpuHostIo.MappedOutput, GpuHostIo.Mapped];

    /// <summary>Null when <paramref name="configurations"/> can be measured this way here; otherwise why not.</summary>
    public static string? Unsupported(IReadOnlyList<string> configurations, ExecutionResources res)
    {
        if (!configurations.Any(c => ConfigurationRegistry.Find(c).Device == DeviceKind.Gpu)) return "the plan has no GPU block";
        if (!res.TryOpen(DeviceKind.Gpu)) return "no GPU";
        return GpuHostIoSwitch.Unsupported(res.RequireGpu());
    }

    /// <summary>Each of <paramref name="plans"/> that can be measured (<see cref="Unsupported"/>) in every mode, all interleaved
    /// for about <paramref name="budgetMs"/>, in the order given. A mode whose scores differ from the same plan's copies is
    /// marked (and never chosen by <see cref="HostIoChoice"/>). Paired ratios are against the same plan's copies.</summary>
    public static IReadOnlyList<HostIoTiming> Run(BnnModel model, IReadOnlyList<Block> blocks, IReadOnlyList<IReadOnlyList<string>> plans,
        int batch, ExecutionResources res, double budgetMs, int seed, Action<double>? elapsedMs = null)
    {
        var measurable = plans.Where(p => Unsupported(p, res) is null).ToList();
        if (measurable.Count == 0) return [];
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var runs = measurable.SelectMany(p => Modes.Select(_ => p)).ToList();
        var scores = new int[runs.Count][];
        var samples = PlanBenchmark.Samples(model, blocks, runs, batch, res, images, budgetMs, minRounds: 5,
            afterRound: (_, ms) => elapsedMs?.Invoke(ms), hostIo: measurable.SelectMany(_ => Modes.Select(m => (GpuHostIo?)m)).ToList(),
            afterMeasuring: (p, _, s) => scores[p] = s.ToArray());
        return measurable.Select((configurations, p) => new HostIoTiming([.. configurations], Modes.Select((mode, i) =>
        {
            int at = p * Modes.Length + i, copies = p * Modes.Length;
            var stats = TimingStats.From(samples[at]);
            return new HostIoModeTiming(mode, stats.MedianUs, stats.P10Us, stats.P90Us, stats.Samples,
                i == 0 ? 1 : PlanBenchmark.PairedRatio(samples[at], samples[copies]), scores[at].AsSpan().SequenceEqual(scores[copies]));
        }).ToList())).ToList();
    }
}
