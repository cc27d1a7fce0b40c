using HepBnn.Devices;

namespace HepBnn.Planning;

/// <summary>
/// The plans in the order the planner offers them: by prediction, where a plan the profile measured whole (with its
/// fastest host I/O and graph edges) is predicted at that measurement (<see cref="HostIoChoice.PredictedUs"/>). The optimizer prices every plan with copy nodes; the profile measures the host I/O of a
/// few candidates (<see cref="HostIoCandidates"/>), and one of them may then beat the copies-priced best (VGG3 b16 on the
/// H200: the best all-GPU plan, 36.1 µs with copies, ran 1.07x faster mapped than the found plan, in
/// docs/results/h200-session7-final). Every plan the profile measured is among the plans ranked, and so are the optimizer's
/// k + (measured count) best by copies price: an unmeasured plan that places has fewer than k unmeasured plans ahead of it
/// by copies price, so the order is exact for these predictions.
/// </summary>
public static class PlanRanking
{
    /// <summary>The <paramref name="k"/> best mappings by prediction less their measured host I/O saving, best first.</summary>
    public static IReadOnlyList<Mapping> Top(Profile profile, CostTable table, int k)
    {
        // the plans the profile measured, as mappings of this table (one whose configuration the table lacks cannot place)
        var measured = HostIoChoice.Measured(profile).Select(t => table.TryChoice(t.Configurations))
            .OfType<int[]>().Select(choice => Mapping.Of(table, choice)).ToList();
        if (measured.Count == 0) return PlanOptimizer.KBest(table, k);
        // a measured plan can also rank below its copies price: room for k unmeasured plans besides the measured ones
        var pool = PlanOptimizer.KBest(table, k + measured.Count).ToList();
        foreach (var m in measured)
            if (!pool.Any(p => p.SameAs(m))) pool.Add(m);
        return pool.Select((m, i) => (Mapping: m, Order: i, Us: HostIoChoice.PredictedUs(profile, m)))
            .OrderBy(x => x.Us).ThenBy(x => x.Order).Take(k).Select(x => x.Mapping).ToList();
    }
}

/// <summary>
/// Which plans the profile measures host I/O for (<see cref="HostIoBenchmark"/>): the best plan of each distinct
/// placement (which blocks run on the GPU: that decides which copies a mapped mode removes) among the optimizer's
/// <see cref="Pool"/> best, plus the best all-GPU plan; then, while there is room, the best plan of a placement already
/// chosen with another configuration of a GPU segment's first block. With mapped input that kernel reads the host's
/// memory over the bus, which the isolated block timings (input in device memory) do not see: VGG3 b256's conv1 on the
/// H200 took 12.6 µs from device memory and 22.4 µs from mapped input in the rows kernel (docs/results/h200-small8), so a
/// kernel that reads it better can win only when measured so. At most <see cref="Max"/>, best first.
/// </summary>
public static class HostIoCandidates
{
    /// <summary>Most plans measured (each in three modes, interleaved).</summary>
    public const int Max = 4;

    /// <summary>How many of the optimizer's best plans the placements are taken from.</summary>
    public const int Pool = 32;

    public static IReadOnlyList<Mapping> Select(CostTable table)
    {
        var chosen = new List<Mapping>();
        var placements = new HashSet<string>();
        void Consider(Mapping m)
        {
            if (chosen.Count >= Max || !m.Options.Any(o => o.Device == DeviceKind.Gpu)) return;
            if (placements.Add(Placement(m))) chosen.Add(m);
        }
        var pool = PlanOptimizer.KBest(table, Pool); // computed once, walked twice: placements, then first-block kernels
        foreach (var m in pool) Consider(m);
        if (PlanOptimizer.Best(table, o => o.Device == DeviceKind.Gpu) is { } allGpu)
        {
            // the all-GPU plan gains the most from mapped input and output: keep a place for it
            if (chosen.Count == Max && placements.Add(Placement(allGpu))) chosen[^1] = allGpu;
            else Consider(allGpu);
        }
        var readers = chosen.Select(Readers).ToHashSet();
        foreach (var m in pool)
        {
            if (chosen.Count >= Max) break;
            if (!placements.Contains(Placement(m)) || !readers.Add(Readers(m))) continue;
            chosen.Add(m);
        }
        return chosen.OrderBy(m => m.PredictedUs).ToList();
    }

    static string Placement(Mapping m) => string.Concat(m.Options.Select(o => o.Device == DeviceKind.Gpu ? 'G' : 'C'));

    /// <summary>The placement with the configuration of each GPU block that starts a segment (reads the plan's input or
    /// a CPU block's output: the one that reads mapped host input).</summary>
    internal static string Readers(Mapping m) => string.Join(",", m.Options.Select((o, i) => o.Device != DeviceKind.Gpu ? "C"
        : i == 0 || m.Options[i - 1].Device != DeviceKind.Gpu ? $"G:{o.Configuration}" : "G"));
}
