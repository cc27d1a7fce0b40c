using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>
/// Exact minimum-latency mapping of a chain of blocks: a dynamic program over (block, where its output is). Block costs
/// depend only on the option, transfers only on consecutive devices, so the best path through the states is the best
/// mapping. Keeping the k best partial paths per state gives the k best mappings exactly (a path in the global top k has
/// a prefix in its state's top k, else k better paths would exist).
/// <para>Fused GPU ranges (<see cref="CostTable.Ranges"/>) are edges that skip from block First−1 to block Last with the
/// range's own measured time. Their end is a state of its own ("on the GPU, after a fused range"), from which no range
/// may start: two adjacent ranges would run as one (a session fuses every run of consecutive gpu.fused blocks), which
/// is a different range with its own edge.</para>
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
        // layers[i][state] = best partial paths ending with block i in that state, sorted by cost.
        var layers = new Dictionary<State, List<Entry>>[n];
        var origin = new State(DeviceKind.Cpu, false, 0); // the input on the host, no CPU region open yet
        var start = new Dictionary<State, List<Entry>> { [origin] = [new Entry(table.FixedUs, -1, origin, -1)] };
        var previous = start;
        for (int i = 0; i < n; i++)
        {
            var candidates = new Dictionary<State, List<Entry>>();
            void Add(State to, Entry e)
            {
                if (!candidates.TryGetValue(to, out var list)) candidates[to] = list = [];
                list.Add(e);
            }
            for (int j = 0; j < table.Options[i].Count; j++)
            {
                var o = table.Options[i][j];
                if (o.Configuration == RangeOption.Configuration || !allow(o)) continue; // fused blocks come as ranges below
                foreach (var (from, entries) in previous)
                {
                    double move = table.Move(i, from.Device, o.Device);
                    if (double.IsPositiveInfinity(move)) continue;
                    var (threads, region) = table.RegionStep(from.RegionThreads, o);
                    for (int r = 0; r < entries.Count; r++) Add(new State(o.Device, false, threads), new Entry(entries[r].Cost + move + o.TimeUs + region, j, from, r));
                }
            }
            for (int x = 0; x < table.Ranges.Count; x++)
            {
                var range = table.Ranges[x];
                if (range.Last != i || !allow(range.AsOption)) continue;
                foreach (var (from, entries) in range.First == 0 ? start : layers[range.First - 1])
                {
                    if (from.AfterRange) continue;
                    double move = table.Move(range.First, from.Device, DeviceKind.Gpu);
                    if (double.IsPositiveInfinity(move)) continue;
                    for (int r = 0; r < entries.Count; r++) Add(new State(DeviceKind.Gpu, true, 0), new Entry(entries[r].Cost + move + range.TimeUs, -1 - x, from, r));
                }
            }
            foreach (var d in candidates.Keys.ToList()) candidates[d] = TopK(candidates[d], k);
            layers[i] = previous = candidates;
            if (previous.Count == 0) return [];
        }
        var finals = new List<(double Cost, State State, int Rank)>();
        foreach (var (s, entries) in previous)
        {
            double move = table.Move(n, s.Device, DeviceKind.Cpu);
            if (double.IsPositiveInfinity(move)) continue;
            for (int r = 0; r < entries.Count; r++) finals.Add((entries[r].Cost + move, s, r));
        }
        return finals.OrderBy(f => f.Cost).ThenBy(f => f.State.Device).ThenBy(f => f.State.AfterRange).ThenBy(f => f.State.RegionThreads).ThenBy(f => f.Rank).Take(k)
            .Select(f => Backtrack(table, layers, f.State, f.Rank, f.Cost)).ToList();
    }

    static Mapping Backtrack(CostTable table, Dictionary<State, List<Entry>>[] layers, State state, int rank, double cost)
    {
        var choice = new int[layers.Length];
        for (int i = layers.Length - 1; i >= 0;)
        {
            var e = layers[i][state][rank];
            if (e.Option >= 0)
            {
                choice[i] = e.Option;
                i--;
            }
            else
            {
                var range = table.Ranges[-1 - e.Option];
                for (int b = range.First; b <= range.Last; b++) choice[b] = table.IndexOf(b, RangeOption.Configuration);
                i = range.First - 1;
            }
            (state, rank) = (e.From, e.FromRank);
        }
        return new Mapping(choice, choice.Select((j, i) => table.Options[i][j]).ToArray(), cost);
    }

    static List<Entry> TopK(List<Entry> entries, int k) =>
        entries.OrderBy(e => e.Cost).ThenBy(e => e.Option).ThenBy(e => e.From.Device).ThenBy(e => e.From.AfterRange).ThenBy(e => e.From.RegionThreads).ThenBy(e => e.FromRank).Take(k).ToList();

    /// <summary>Where the data is after a block, whether that block ended a fused range, and the participants of the CPU
    /// region it belongs to (0 off the CPU): the region's cost depends on its widest block, so paths that reach a CPU
    /// block with regions of different widths are different states (<see cref="CostTable.RegionStep"/>).</summary>
    readonly record struct State(DeviceKind Device, bool AfterRange, int RegionThreads);

    /// <summary>A partial path: its cost, the option of its last block (or −1 − range index for a fused range), and where
    /// its prefix is (the layer before the block, or before the range's first block).</summary>
    readonly record struct Entry(double Cost, int Option, State From, int FromRank);
}
