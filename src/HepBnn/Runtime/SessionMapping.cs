namespace HepBnn.Runtime;

/// <summary>How <c>InferenceSession.Create</c> picks a configuration per block.</summary>
public abstract record SessionMapping
{
    SessionMapping() { }

    /// <summary>Profile this model on this machine and map it (the plan is cached: profiled again only when the model,
    /// the machine or the batch changes, or when <see cref="SessionOptions.Remap"/> asks).</summary>
    public static SessionMapping Auto { get; } = new AutoMapping();
    /// <summary>A plan file made by <c>hepbnn map</c> (checked against the model and this machine).</summary>
    public static SessionMapping Plan(string file) => new PlanFileMapping(file);
    /// <summary>One configuration for every block, e.g. "cpu.scalar".</summary>
    public static SessionMapping Configuration(string name) => new SingleConfiguration(name);

    public sealed record AutoMapping : SessionMapping { public override string ToString() => "auto"; }
    public sealed record PlanFileMapping(string File) : SessionMapping { public override string ToString() => $"plan '{File}'"; }
    public sealed record SingleConfiguration(string Name) : SessionMapping { public override string ToString() => $"configuration {Name}"; }
}

/// <summary>What <c>InferenceSession.Create</c> did: where the mapping came from, whether it fell back to the CPU and why.</summary>
public sealed record MappingReport(string Source, Plan? Plan, string? CacheFile, string? Fallback, IReadOnlyList<string> Notes)
{
    public override string ToString() =>
        Source + (Fallback is null ? "" : $"; GPU unavailable ({Fallback}): fell back to the CPU") +
        (Notes.Count == 0 ? "" : "; " + string.Join("; ", Notes));
}
