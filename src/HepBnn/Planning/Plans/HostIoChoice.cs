using HepBnn.Devices;

namespace HepBnn.Planning;

/// <summary>
/// The host I/O a plan's GPU segments use, from the profile's measurement of that very plan (<see cref="HostIoTiming"/>):
/// the row (mode, and graph edges where the profile measured both) that ran fastest paired with the baseline (the first
/// copies row), if it beat it by more than <see cref="Margin"/> and computed the same scores; the baseline otherwise.
/// The saving is the copies' median times (1 − the paired ratio); the plan is predicted at the chosen row's own time
/// (<see cref="PredictedUs"/>).
/// </summary>
public static class HostIoChoice
{
    /// <summary>A mapped mode must run at most this fraction of the copies' time (paired) to be chosen: smaller
    /// differences are within the round-to-round noise of a short measurement, and copies are the proven default.</summary>
    public const double Margin = 0.02;

    /// <summary>The mode, the graph edges (null where not measured: the resources decide), the measured saving (µs, ≥ 0)
    /// and the chosen row's own time (the copies' median times its paired ratio: the plan measured whole, as it will run)
    /// for <paramref name="configurations"/>; null mode and time where the profile has no measurement of exactly this plan.</summary>
    public static (GpuHostIo? Mode, bool? DependentLaunch, double SavingUs, double? MeasuredUs) Chosen(Profile profile, IReadOnlyList<string> configurations)
    {
        var io = Measured(profile).FirstOrDefault(t => t.Configurations.SequenceEqual(configurations, StringComparer.OrdinalIgnoreCase));
        if (io is null) return (null, null, 0, null);
        var copies = io.Modes.FirstOrDefault(m => m.Mode == GpuHostIo.Copies);
        if (copies is null) return (null, null, 0, null);
        var best = io.Modes.Where(m => m != copies && m.ScoresMatch && m.PairedRatio < 1 - Margin)
            .OrderBy(m => m.PairedRatio).FirstOrDefault();
        return best is null ? (GpuHostIo.Copies, copies.DependentLaunch, 0, copies.MedianUs)
            : (best.Mode, best.DependentLaunch, copies.MedianUs * (1 - best.PairedRatio), copies.MedianUs * best.PairedRatio);
    }

    /// <summary>What the planner predicts for <paramref name="mapping"/>: where the profile measured the plan whole (a host
    /// I/O candidate), that measurement in the chosen mode (the copies' median times the chosen row's paired ratio); else
    /// the cost model's copies-priced prediction. A whole-plan measurement includes what the blocks' sum misses for that
    /// plan: in docs/results/h200-session8-final the calibrated copies price of VGG3 b16's all-GPU plan was 33.0 µs against
    /// 37.8 measured, so its prediction with the saving taken off was 21.1 µs, and it ran 26.4 (its measurement said 26.1).</summary>
    public static double PredictedUs(Profile profile, Mapping mapping) =>
        Chosen(profile, mapping.Configurations).MeasuredUs ?? mapping.PredictedUs;

    /// <summary>Every plan whose host I/O the profile measured: the copies-priced best, then the other candidates.</summary>
    public static IEnumerable<HostIoTiming> Measured(Profile profile) =>
        (profile.HostIo is { } found ? [found] : Array.Empty<HostIoTiming>()).Concat(profile.HostIoOthers ?? []);
}
