using HepBnn.Devices;
using HepBnn.Runtime;
namespace HepBnn.Planning;

/// <summary>One line of the verdict: a plan (the found one, a runner-up, or a baseline), predicted and measured.
/// <paramref name="VsPlan"/> = this row's measured median / the found plan's measured median, so that it always agrees
/// with the two medians shown next to it (how much slower than the found plan, i.e. the found plan's speedup over it).
/// <see cref="PairedRatio"/> = the median over the rounds of the interleaved run of the per-round ratio: robust to load
/// that drifts between rounds, and what decides <see cref="Verdict.MeasuredBestRank"/>; on a noisy machine it can differ
/// from <paramref name="VsPlan"/> (e.g. 1.11x paired next to medians 7,647 vs 3,091 µs), so it is shown separately.
/// <paramref name="Note"/> says why a baseline is missing (e.g. no GPU) or that it equals another row.</summary>
public sealed record VerdictRow(string Label, IReadOnlyList<string>? Configurations, double PredictedUs, TimingStats? Measured, double? VsPlan, string? Note)
{
    public double? PairedRatio { get; init; }

    /// <summary>True when the paired ratio and the ratio of medians disagree by more than 10%: the measurements were noisy.</summary>
    public bool RatiosDisagree => VsPlan is { } v && PairedRatio is { } p && Math.Abs(Math.Log(v / p)) > Math.Log(1.1);
}

/// <summary>The found plan against its runners-up and the baselines, all measured in one interleaved run.
/// MeasuredBestRank: rank by prediction (1 = the found plan) of the top-k plan that measured fastest.
/// PlanIsMeasuredBest: the found plan measured within <see cref="VerdictOptions.Tolerance"/> of the fastest of ALL measured
/// plans (top-k and baselines); otherwise <see cref="BeatenBy"/> names the fastest one and <see cref="BeatenByFactor"/> says by how much.
/// LoadBefore/After: the machine's 1-minute load average around the measurement (NaN where unknown).</summary>
public sealed record Verdict(
    string Model, int Batch, string Platform, Plan Plan, IReadOnlyList<VerdictRow> Rows,
    double PredictedUs, double MeasuredUs, double PredictionError,
    int MeasuredBestRank,
    bool PlanIsMeasuredBest,
    double ProfilingSeconds, double MeasuringSeconds,
    double LoadBefore, double LoadAfter)
{
    /// <summary>p90 / p10 of the found plan's runs: near 1 on a quiet machine; well above 1 means the numbers are noisy.</summary>
    public double Spread => Rows[0].Measured is { } m ? m.P90Us / m.P10Us : double.NaN;

    /// <summary>Label of the measured plan (runner-up or baseline) that beat the found plan by more than the tolerance, or null.</summary>
    public string? BeatenBy { get; init; }
    /// <summary>How many times faster <see cref="BeatenBy"/> ran than the found plan (paired per-round median), or null.</summary>
    public double? BeatenByFactor { get; init; }
    /// <summary>The found plan run another way (graphs off, the other dependent-launch setting) that ran more than the
    /// tolerance faster in the same rounds (paired), or null: the plan is right but the way it runs is not the fastest.</summary>
    public string? FasterMode { get; init; }
    /// <summary>How many times faster <see cref="FasterMode"/> ran (paired per-round median), or null.</summary>
    public double? FasterModeFactor { get; init; }

    /// <summary>The plans whose host I/O the profile measured (<see cref="HostIoCandidates"/>), each in every mode: what the
    /// found plan's host I/O and its place among the plans come from (<see cref="PlanRanking"/>). Empty where none was.</summary>
    public IReadOnlyList<HostIoTiming> HostIoMeasured { get; init; } = [];

    /// <summary>How the found plan's GPU blocks ran (<see cref="InferenceSession.GpuExecution"/>: CUDA graphs or eager, and why).</summary>
    public string? GpuExecution { get; init; }
    /// <summary>Measured plans whose scores (first samples of the batch) differ from the reference: must be empty.</summary>
    public IReadOnlyList<string> ReferenceMismatches { get; init; } = [];

    /// <summary>The row that beat the found plan by more than <paramref name="tolerance"/> (smallest paired ratio vs the
    /// found plan below 1/(1+tolerance)), or null when none did. Rows without a measurement are skipped.</summary>
    /// The found plan itself in another mode (e.g. CUDA graphs off, same configurations as the first row) is not another plan.
    public static VerdictRow? Beating(IReadOnlyList<VerdictRow> rows, double tolerance) =>
        rows.Where(r => r.VsPlan is { } x && double.IsFinite(x) && x < 1 / (1 + tolerance)
                        && !(r.Configurations is { } c && rows[0].Configurations is { } f && c.SequenceEqual(f)))
            .OrderBy(r => r.VsPlan!.Value).FirstOrDefault();

    /// <summary>The row of the found plan in another mode (label "found plan, …", same configurations) whose paired ratio
    /// to the found plan is below 1/(1+<paramref name="tolerance"/>), the fastest such; null when none.</summary>
    public static VerdictRow? FasterModeRow(IReadOnlyList<VerdictRow> rows, double tolerance) =>
        rows.Skip(1).Where(r => r.Label.StartsWith("found plan, ", StringComparison.Ordinal) && r.PairedRatio is { } x && double.IsFinite(x) && x > 0
                                && x < 1 / (1 + tolerance))
            .OrderBy(r => r.PairedRatio!.Value).FirstOrDefault();
}

public sealed record VerdictOptions
{
    public int TopK { get; init; } = 5;
    public double BudgetSeconds { get; init; } = 4;
    public int MinRounds { get; init; } = 5;
    public double Tolerance { get; init; } = 0.03;
    public int Seed { get; init; } = 1;
}

/// <summary>Names and labels of the baselines (the HEP-BNN paper compares with the fully parallel all-GPU mapping).</summary>
public static class Baselines
{
    public const string FullyParallelGpu = "gpu.thread-per-output";

    public static string AllOn(DeviceKind d) => d == DeviceKind.Cpu ? "all-CPU best" : $"best all-{Name(d)}";

    public static string Name(DeviceKind d) => d.ToString().ToUpperInvariant();
}
