using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Planning;

/// <summary>
/// Measures one whole plan with its GPU segments moving input and output as copies (memcpy nodes), with a mapped host
/// output and with mapped host input and output (<see cref="GpuHostIo"/>), interleaved in the same rounds. Which is
/// fastest depends on the plan and the batch (VGG7 b1 on the H200: mapped 1.14x faster; b256: mapped input 1.03x slower,
/// docs/results/h200-session6-final), so the planner decides by measurement, not by rule.
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

    /// <summary>The plan in every mode, interleaved for about <paramref name="budgetMs"/>; null where <see cref="Unsupported"/>
    /// says why. A mode whose scores differ from the copies' is marked (and never chosen by <see cref="HostIoChoice"/>).
    /// Where the GPU's graphs can have programmatic edges (<see cref="CudaGraph.ProgrammaticEdgesProblem"/>), every mode runs
    /// with the resources' dependent-launch setting and with the other one: whether launching each kernel while its
    /// predecessor runs pays depends on the plan and batch too (the kernels' prologues overlap the predecessor at batch 1;
    /// at b256 early-resident dependents cost, docs/results/h200-pdl), so the planner decides it by measurement as well.</summary>
    public static HostIoTiming? Run(BnnModel model, IReadOnlyList<Block> blocks, IReadOnlyList<string> configurations, int batch,
        ExecutionResources res, double budgetMs, int seed, Action<double>? elapsedMs = null)
    {
        if (Unsupported(configurations, res) is not null) return null;
        bool both = GraphTiming.Enabled(res, DeviceKind.Gpu) && CudaGraph.ProgrammaticEdgesProblem(res.RequireGpu()) is null;
        var rows = Modes.Select(m => (Mode: m, Pdl: both ? res.DependentLaunch : (bool?)null)).ToList();
        if (both) rows.AddRange(Modes.Select(m => (Mode: m, Pdl: (bool?)!res.DependentLaunch)));
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var plans = rows.Select(_ => configurations).ToList();
        var scores = new int[rows.Count][];
        var samples = PlanBenchmark.Samples(model, blocks, plans, batch, res, images, budgetMs, minRounds: 5,
            afterRound: (_, ms) => elapsedMs?.Invoke(ms), dependentLaunch: rows.Select(r => r.Pdl).ToList(),
            hostIo: rows.Select(r => (GpuHostIo?)r.Mode).ToList(), afterMeasuring: (p, _, s) => scores[p] = s.ToArray());
        return new HostIoTiming([.. configurations], rows.Select((row, i) =>
        {
            var stats = TimingStats.From(samples[i]);
            return new HostIoModeTiming(row.Mode, stats.MedianUs, stats.P10Us, stats.P90Us, stats.Samples,
                i == 0 ? 1 : PlanBenchmark.PairedRatio(samples[i], samples[0]), scores[i].AsSpan().SequenceEqual(scores[0]), row.Pdl);
        }).ToList());
    }
}
