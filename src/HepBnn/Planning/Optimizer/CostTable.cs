using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>One way to run one block: a configuration on a device and its predicted time there. <paramref name="Threads"/>:
/// for a CPU configuration, the threads it runs on (its CPU region's participants; 0 = not known, no region cost).</summary>
public sealed record CostOption(string Configuration, DeviceKind Device, double TimeUs, int Threads = 0);

/// <summary>Blocks First..Last fused into one GPU kernel launch (<c>gpu.fused</c>), priced by its own measurement.</summary>
public sealed record RangeOption(int First, int Last, double TimeUs)
{
    public const string Configuration = "gpu.fused";
    public CostOption AsOption => new(Configuration, DeviceKind.Gpu, TimeUs);
}

/// <summary>What one step of an assignment runs: a block in its option, or a fused range (First &lt; Last possible).</summary>
public readonly record struct CostUnit(int First, int Last, CostOption Option);

/// <summary>
/// What the optimizer works on, and nothing else (no hardware): per block the options, per tensor boundary the cost of
/// moving the data between devices, and a fixed per-run cost. Boundary i is the input of block i; boundary n (after
/// the last block) is the scores, which must end on the host, as the input starts there.
/// <para>CPU regions: a run of consecutive CPU blocks is one parallel region of the worker pool (a lone parallel block,
/// one fork-join), whose hand-off and join cost depends on its participants, the most threads any of its blocks uses
/// (<see cref="RegionUs"/>). Block options carry their work and dependency waits only (they are timed inside a region),
/// so a plan pays the hand-off once per region, for its widest block — what <see cref="Cost(IReadOnlyList{int})"/> and
/// the optimizer add: the region's cost at its first block, and the difference when a later block widens it.</para>
/// </summary>
public sealed class CostTable
{
    readonly IReadOnlyDictionary<(DeviceKind From, DeviceKind To), double>[] _moves;

    public IReadOnlyList<IReadOnlyList<CostOption>> Options { get; }
    /// <summary>Fused ranges with their measured time (input and output on the GPU). A block's option
    /// <see cref="RangeOption.Configuration"/> stands for "part of a fused range": consecutive blocks with it are ONE
    /// range, priced here, not by their per-block options (which exist so that plans name them; they carry the one-block range's time).</summary>
    public IReadOnlyList<RangeOption> Ranges { get; }
    public double FixedUs { get; }
    public int BlockCount => Options.Count;
    readonly (int Threads, double Us)[] _regions;

    /// <summary>Measured hand-off + join of a CPU region, per participant count (empty: regions not priced).</summary>
    public IReadOnlyList<(int Threads, double Us)> Regions => _regions;

    /// <param name="moves">per boundary (n + 1 of them): cost of each (from, to) move that is possible; missing = impossible.</param>
    public CostTable(IReadOnlyList<IReadOnlyList<CostOption>> options, IReadOnlyList<IReadOnlyDictionary<(DeviceKind From, DeviceKind To), double>> moves,
        double fixedUs = 0, IReadOnlyList<RangeOption>? ranges = null, IReadOnlyList<(int Threads, double Us)>? regions = null)
    {
        foreach (var (t, us) in regions ?? [])
            if (t < 1 || !double.IsFinite(us) || us < 0) throw new HepBnnException($"CPU region of {t} threads: {us} µs is not a thread count ≥ 1 with a finite non-negative time");
        // Monotone in the thread count (a wider region never costs less: noise between close counts must not reward widening).
        var sorted = (regions ?? []).GroupBy(r => r.Threads).Select(g => (g.Key, g.Min(r => r.Us))).OrderBy(r => r.Key).ToArray();
        for (int i = 1; i < sorted.Length; i++) sorted[i].Item2 = Math.Max(sorted[i].Item2, sorted[i - 1].Item2);
        _regions = sorted;
        ranges ??= [];
        foreach (var r in ranges)
            if (r.First < 0 || r.Last < r.First || r.Last >= options.Count || !double.IsFinite(r.TimeUs) || r.TimeUs < 0)
                throw new HepBnnException($"fused range {r.First}..{r.Last} ({r.TimeUs} µs) is not a range of the {options.Count} blocks with a finite non-negative time");
        // Every block a range covers can be named gpu.fused in a plan; the option carries the one-block range's time
        // (or, unmeasured, the shortest covering range's: only reports show it, costs come from the ranges).
        options = options.Select((o, i) =>
        {
            var covering = ranges.Where(r => r.First <= i && i <= r.Last).OrderBy(r => r.Last - r.First).FirstOrDefault();
            return covering is null || o.Any(x => x.Configuration == RangeOption.Configuration) ? o : (IReadOnlyList<CostOption>)[.. o, covering.AsOption];
        }).ToList();
        Ranges = ranges;
        if (options.Count == 0) throw new HepBnnException("a cost table needs at least one block");
        if (moves.Count != options.Count + 1) throw new HepBnnException($"a cost table of {options.Count} blocks needs {options.Count + 1} boundaries of transfer costs, got {moves.Count}");
        for (int i = 0; i < options.Count; i++)
        {
            if (options[i].Count == 0) throw new HepBnnException($"block {i} has no configuration to run it");
            foreach (var o in options[i])
                if (!double.IsFinite(o.TimeUs) || o.TimeUs < 0) throw new HepBnnException($"block {i}, {o.Configuration}: time {o.TimeUs} is not a finite non-negative number");
        }
        Options = options;
        _moves = [.. moves];
        FixedUs = fixedUs;
    }

    /// <summary>Cost of having the tensor at <paramref name="boundary"/> on <paramref name="from"/> and needing it on <paramref name="to"/>.</summary>
    public double Move(int boundary, DeviceKind from, DeviceKind to) =>
        from == to ? 0 : _moves[boundary].TryGetValue((from, to), out var c) ? c : double.PositiveInfinity;

    public int IndexOf(int block, string configuration) => TryIndexOf(block, configuration) is var j and >= 0 ? j
        : throw new HepBnnException($"block {block} has no timing for configuration '{configuration}'");

    /// <summary>The option of <paramref name="configuration"/> at <paramref name="block"/>, or −1 where it has none.</summary>
    public int TryIndexOf(int block, string configuration)
    {
        for (int j = 0; j < Options[block].Count; j++)
            if (Options[block][j].Configuration.Equals(configuration, StringComparison.OrdinalIgnoreCase)) return j;
        return -1;
    }

    public int[] Choice(IReadOnlyList<string> configurations)
    {
        if (configurations.Count != BlockCount) throw new HepBnnException($"{configurations.Count} configurations for {BlockCount} blocks");
        return configurations.Select((c, i) => IndexOf(i, c)).ToArray();
    }

    /// <summary><see cref="Choice"/>, or null where the count differs or a block has no option of that configuration.</summary>
    public int[]? TryChoice(IReadOnlyList<string> configurations)
    {
        if (configurations.Count != BlockCount) return null;
        var choice = configurations.Select((c, i) => TryIndexOf(i, c)).ToArray();
        return choice.All(j => j >= 0) ? choice : null;
    }

    /// <summary>Predicted end-to-end time of one assignment (option index per block): the quantity the optimizer minimizes.</summary>
    public double Cost(IReadOnlyList<int> choice)
    {
        double total = FixedUs;
        var where = DeviceKind.Cpu;
        int region = 0;
        foreach (var u in Units(choice))
        {
            (region, double added) = RegionStep(region, u.Option);
            total += Move(u.First, where, u.Option.Device) + u.Option.TimeUs + added;
            where = u.Option.Device;
        }
        return total + Move(BlockCount, where, DeviceKind.Cpu);
    }

    /// <summary>Hand-off and join of a CPU region of <paramref name="threads"/> participants: the measured cost of the
    /// smallest measured count at or above it (the largest where none is); 0 for none or when regions are not priced.</summary>
    public double RegionUs(int threads)
    {
        if (threads <= 0 || _regions.Length == 0) return 0;
        foreach (var (t, us) in _regions) if (t >= threads) return us;
        return _regions[^1].Us;
    }

    /// <summary>The CPU region after <paramref name="option"/> follows one of <paramref name="current"/> participants (0:
    /// none, e.g. after a GPU block): its participants, and the cost the option adds to the region (all of it when it
    /// opens one, the difference when it widens one, nothing off the CPU).</summary>
    public (int Threads, double AddedUs) RegionStep(int current, CostOption option)
    {
        if (option.Device != DeviceKind.Cpu) return (0, 0);
        int threads = Math.Max(current, Math.Max(1, option.Threads));
        return (threads, RegionUs(threads) - RegionUs(current));
    }

    /// <summary>The steps of an assignment in order: each block in its option, except that a maximal run of
    /// <c>gpu.fused</c> blocks is one step with the range's time (infinite when that range was not measured).</summary>
    public IReadOnlyList<CostUnit> Units(IReadOnlyList<int> choice)
    {
        if (choice.Count != BlockCount) throw new HepBnnException($"{choice.Count} choices for {BlockCount} blocks");
        var units = new List<CostUnit>();
        for (int i = 0; i < BlockCount; i++)
        {
            var o = Options[i][choice[i]];
            if (o.Configuration != RangeOption.Configuration) { units.Add(new CostUnit(i, i, o)); continue; }
            int last = i;
            while (last + 1 < BlockCount && Options[last + 1][choice[last + 1]].Configuration == RangeOption.Configuration) last++;
            units.Add(new CostUnit(i, last, new CostOption(RangeOption.Configuration, DeviceKind.Gpu, RangeTime(i, last))));
            i = last;
        }
        return units;
    }

    /// <summary>Measured time of the fused range first..last, infinite when it was not measured.</summary>
    public double RangeTime(int first, int last)
    {
        foreach (var r in Ranges) if (r.First == first && r.Last == last) return r.TimeUs;
        return double.PositiveInfinity;
    }

    public double Cost(IReadOnlyList<string> configurations) => Cost(Choice(configurations));
}
