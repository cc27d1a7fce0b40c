using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>One way to run one block: a configuration on a device and its predicted time there.</summary>
public sealed record CostOption(string Configuration, DeviceKind Device, double TimeUs);

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

    /// <param name="moves">per boundary (n + 1 of them): cost of each (from, to) move that is possible; missing = impossible.</param>
    public CostTable(IReadOnlyList<IReadOnlyList<CostOption>> options, IReadOnlyList<IReadOnlyDictionary<(DeviceKind From, DeviceKind To), double>> moves,
        double fixedUs = 0, IReadOnlyList<RangeOption>? ranges = null)
    {
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

    public int IndexOf(int block, string configuration)
    {
        for (int j = 0; j < Options[block].Count; j++)
            if (Options[block][j].Configuration.Equals(configuration, StringComparison.OrdinalIgnoreCase)) return j;
        throw new HepBnnException($"block {block} has no timing for configuration '{configuration}'");
    }

    public int[] Choice(IReadOnlyList<string> configurations)
    {
        if (configurations.Count != BlockCount) throw new HepBnnException($"{configurations.Count} configurations for {BlockCount} blocks");
        return configurations.Select((c, i) => IndexOf(i, c)).ToArray();
    }

    /// <summary>Predicted end-to-end time of one assignment (option index per block): the quantity the optimizer minimizes.</summary>
    public double Cost(IReadOnlyList<int> choice)
    {
        double total = FixedUs;
        var where = DeviceKind.Cpu;
        foreach (var u in Units(choice))
        {
            total += Move(u.First, where, u.Option.Device) + u.Option.TimeUs;
            where = u.Option.Device;
        }
        return total + Move(BlockCount, where, DeviceKind.Cpu);
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
