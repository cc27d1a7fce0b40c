namespace HepBnn.Planning;

/// <summary>An assignment of one option per block (indices into <see cref="CostTable.Options"/>) and its predicted time.</summary>
public sealed record Mapping(IReadOnlyList<int> Choice, IReadOnlyList<CostOption> Options, double PredictedUs)
{
    public string[] Configurations => Options.Select(o => o.Configuration).ToArray();

    public static Mapping Of(CostTable table, IReadOnlyList<int> choice) =>
        new(choice.ToArray(), choice.Select((j, i) => table.Options[i][j]).ToArray(), table.Cost(choice));

    public bool SameAs(Mapping other) => Choice.SequenceEqual(other.Choice);
}
