using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>One way to run one block: a configuration on a device and its predicted time there.</summary>
public sealed record CostOption(string Configuration, DeviceKind Device, double TimeUs);

/// <summary>
/// What the optimizer works on, and nothing else (no hardware): per block the options, per tensor boundary the cost of
/// moving the data between devices, and a fixed per-run cost. Boundary i is the input of block i; boundary n (after
/// the last block) is the scores, which must end on the host, as the input starts there.
/// </summary>
public sealed class CostTable
{
    readonly IReadOnlyDictionary<(DeviceKind From, DeviceKind To), double>[] _moves;

    public IReadOnlyList<IReadOnlyList<CostOption>> Options { get; }
    public double FixedUs { get; }
    public int BlockCount => Options.Count;

    /// <param name="moves">per boundary (n + 1 of them): cost of each (from, to) move that is possible; missing = impossible.</param>
    public CostTable(IReadOnlyList<IReadOnlyList<CostOption>> options, IReadOnlyList<IReadOnlyDictionary<(DeviceKind From, DeviceKind To), double>> moves, double fixedUs = 0)
    {
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
        for (int i = 0; i < BlockCount; i++)
        {
            var o = Options[i][choice[i]];
            total += Move(i, where, o.Device) + o.TimeUs;
            where = o.Device;
        }
        return total + Move(BlockCount, where, DeviceKind.Cpu);
    }

    public double Cost(IReadOnlyList<string> configurations) => Cost(Choice(configurations));
}
