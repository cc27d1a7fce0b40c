using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>
/// Exact minimum-latency mapping of a chain of blocks: a dynamic program over (block, device holding its output).
/// Block costs depend only on the option, transfers only on consecutive devices, so the best path through the
/// states is the best mapping. Keeping the k best partial paths per state gives the k best mappings exactly
/// (a path in the global top k has a prefix in its state's top k, else k better paths would exist).
/// </summary>
public static class PlanOptimizer
{
    /// <summary>The minimum-cost mapping using only options <paramref name="allow"/> accepts; null if none covers every block.</summary>
    public static Mapping? Best(CostTable table, Func<CostOption, bool>? allow = null) => KBest(table, 1, allow).FirstOrDefault();

    /// <summary>The <paramref name="k"/> cheapest distinct mappings, cheapest first (fewer if fewer exist).</summary>
    public static IReadOnlyList<Mapping> KBest(CostTable table, int k, Func<CostOption, bool>? allow = null)
    {
        if (k < 1) throw new HepBnnException($"k must be at least 1 (got {k})");
        allow ??= _ => true;
        int n = table.BlockCount;
        // layers[i][device] = best partial paths ending with block i on that device, sorted by cost.
        var layers = new Dictionary<DeviceKind, List<Entry>>[n];
        var previous = new Dictionary<DeviceKind, List<Entry>> { [DeviceKind.Cpu] = [new Entry(table.FixedUs, -1, DeviceKind.Cpu, -1)] };
        for (int i = 0; i < n; i++)
        {
            var candidates = new Dictionary<DeviceKind, List<Entry>>();
            for (int j = 0; j < table.Options[i].Count; j++)
            {
                var o = table.Options[i][j];
                if (!allow(o)) continue;
                foreach (var (from, entries) in previous)
                {
                    double move = table.Move(i, from, o.Device);
                    if (double.IsPositiveInfinity(move)) continue;
                    for (int r = 0; r < entries.Count; r++)
                    {
                        if (!candidates.TryGetValue(o.Device, out var list)) candidates[o.Device] = list = [];
                        list.Add(new Entry(entries[r].Cost + move + o.TimeUs, j, from, r));
                    }
                }
            }
            foreach (var d in candidates.Keys.ToList()) candidates[d] = TopK(candidates[d], k);
            layers[i] = previous = candidates;
            if (previous.Count == 0) return [];
        }
        var finals = new List<(double Cost, DeviceKind Device, int Rank)>();
        foreach (var (d, entries) in previous)
        {
            double move = table.Move(n, d, DeviceKind.Cpu);
            if (double.IsPositiveInfinity(move)) continue;
            for (int r = 0; r < entries.Count; r++) finals.Add((entries[r].Cost + move, d, r));
        }
        return finals.OrderBy(f => f.Cost).ThenBy(f => f.Device).ThenBy(f => f.Rank).Take(k)
            .Select(f => Backtrack(table, layers, f.Device, f.Rank, f.Cost)).ToList();
    }

    static Mapping Backtrack(CostTable table, Dictionary<DeviceKind, List<Entry>>[] layers, DeviceKind device, int rank, double cost)
    {
        var choice = new int[layers.Length];
        for (int i = layers.Length - 1; i >= 0; i--)
        {
            var e = layers[i][device][rank];
            choice[i] = e.Option;
            (device, rank) = (e.From, e.FromRank);
        }
        return new Mapping(choice, choice.Select((j, i) => table.Options[i][j]).ToArray(), cost);
    }

    static List<Entry> TopK(List<Entry> entries, int k) =>
        entries.OrderBy(e => e.Cost).ThenBy(e => e.Option).ThenBy(e => e.From).ThenBy(e => e.FromRank).Take(k).ToList();

    /// <summary>A partial path: its cost, the option of its last block, and where its prefix is in the previous layer.</summary>
    readonly record struct Entry(double Cost, int Option, DeviceKind From, int FromRank);
}
