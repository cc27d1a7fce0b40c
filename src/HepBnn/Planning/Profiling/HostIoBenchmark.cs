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
    /// marked (and never chosen by <see cref="HostIoChoice"/>). Paired ratios are against the same plan's copies.
    /// Where the GPU's graphs can have programmatic edges (<see cref="CudaGraph.ProgrammaticEdgesProblem"/>), every mode also
    /// runs with the other dependent-launch setting than the resources' (rows after the first three, whose copies row stays
    /// the baseline): whether launching each kernel while its predecessor runs pays depends on the plan and batch too (the
    /// kernels' prologues overlap the predecessor at batch 1, docs/results/h200-b1pdl; at b16/b256 early-resident dependents
    /// cost, docs/results/h200-pdl), so the planner decides it by measurement as well.</summary>
    public static IReadOnlyList<HostIoTiming> Run(BnnModel model, IReadOnlyList<Block> blocks, IReadOnlyList<IReadOnlyList<string>> plans,
        int batch, ExecutionResources res, double budgetMs, int seed, Action<double>? elapsedMs = null)
    {
        var measurable = plans.Where(p => Unsupported(p, res) is null).ToList();
        if (measurable.Count == 0) return [];
        bool both = GraphTiming.Enabled(res, DeviceKind.Gpu) && CudaGraph.ProgrammaticEdgesProblem(res.RequireGpu()) is null;
        var rows = Modes.Select(m => (Mode: m, Pdl: both ? res.DependentLaunch : (bool?)null)).ToList();
        if (both) rows.AddRange(Modes.Select(m => (Mode: m, Pdl: (bool?)!res.DependentLaunch)));
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var runs = measurable.SelectMany(p => rows.Select(_ => p)).ToList();
        var scores = new int[runs.Count][];
        var samples = PlanBenchmark.Samples(model, blocks, runs, batch, res, images, budgetMs, minRounds: 5,
            afterRound: (_, ms) => elapsedMs?.Invoke(ms), dependentLaunch: measurable.SelectMany(_ => rows.Select(r => r.Pdl)).ToList(),
            hostIo: measurable.SelectMany(_ => rows.Select(r => (GpuHostIo?)r.Mode)).ToList(),
            afterMeasuring: (p, _, s) => scores[p] = s.ToArray());
        return measurable.Select((configurations, p) => new HostIoTiming([.. configurations], rows.Select((row, i) =>
        {
            int at = p * rows.Count + i, copies = p * rows.Count;
            var stats = TimingStats.From(samples[at]);
            return new HostIoModeTiming(row.Mode, stats.MedianUs, stats.P10Us, stats.P90Us, stats.Samples,
                i == 0 ? 1 : PlanBenchmark.PairedRatio(samples[at], samples[copies]), scores[at].AsSpan().SequenceEqual(scores[copies]), row.Pdl);
        }).ToList())).ToList();
    }
}
