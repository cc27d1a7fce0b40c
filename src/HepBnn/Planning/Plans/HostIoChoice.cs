using HepBnn.Devices;

namespace HepBnn.Planning;

/// <summary>
/// The host I/O a plan's GPU segments use, from the profile's measurement of that very plan (<see cref="HostIoTiming"/>):
/// the mode that ran fastest paired with copies, if it beat them by more than <see cref="Margin"/> and computed the same
/// scores; copies otherwise. The saving is the copies' median times (1 − the paired ratio), taken off the plan's prediction so the
/// prediction prices what runs.
/// </summary>
public static class HostIoChoice
{
    /// <summary>A mapped mode must run at most this fraction of the copies' time (paired) to be chosen: smaller
    /// differences are within the round-to-round noise of a short measurement, and copies are the proven default.</summary>
    public const double Margin = 0.02;

    /// <summary>The mode for <paramref name="configurations"/> and its measured saving (µs, ≥ 0); null mode where the
    /// profile has no measurement of exactly this plan.</summary>
    public static (GpuHostIo? Mode, double SavingUs) For(Profile profile, IReadOnlyList<string> configurations)
    {
        var (mode, _, saving) = WithLaunch(profile, configurations);
        return (mode, saving);
    }

    /// <summary><see cref="For"/> with the graph edges too: where the profile measured each mode with plain and with
    /// programmatic kernel→kernel edges (<see cref="HostIoModeTiming.DependentLaunch"/>), the fastest row (paired with the
    /// baseline, the first copies row: how the cost model priced the plan) wins if it beat the baseline by more than
    /// <see cref="Margin"/> with equal scores; its edge setting is returned (null where not measured: the resources decide).</summary>
    public static (GpuHostIo? Mode, bool? DependentLaunch, double SavingUs) WithLaunch(Profile profile, IReadOnlyList<string> configurations)
    {
        var (mode, pdl, saving, _) = Chosen(profile, configurations);
        return (mode, pdl, saving);
    }

    /// <summary><see cref="WithLaunch"/> and the chosen row's own median (µs; null where the plan was not measured): the
    /// plan measured whole, as it will run, in the same rounds as the other candidates.</summary>
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
