using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>
/// What isolated measurements miss about a block inside a whole run, fitted on whole-plan measurements:
/// a constant per run (input/score copies, session bookkeeping), per device a per-block correction (e.g. the
/// synchronization an isolated GPU timing includes but a chain of launches does not; thread wake-ups on the CPU) and
/// a proportional one (caches, overlap), and a cost per device boundary (the synchronization a transfer forces).
/// </summary>
public sealed record Calibration(double SessionUs, double BoundaryUs, IReadOnlyList<DeviceCalibration> Devices, IReadOnlyList<CalibrationPoint> Points)
{
    public static Calibration None { get; } = new(0, 0, [], []);

    public DeviceCalibration For(DeviceKind device) => Devices.FirstOrDefault(d => d.Device == device) ?? new DeviceCalibration(device, 0, 0);

    /// <summary>Largest |predicted − measured| / measured over the calibration plans the fit kept (NaN if none).</summary>
    public double MaxRelativeError => Points.Any(p => p.Weight > 0) ? Points.Where(p => p.Weight > 0).Max(p => Math.Abs(p.PredictedUs - p.MeasuredUs) / p.MeasuredUs) : double.NaN;
}

/// <summary>Block time inside a plan on <paramref name="Device"/> = isolated × (1 + WorkFactor) + PerBlockUs (never below 5% of isolated).</summary>
public sealed record DeviceCalibration(DeviceKind Device, double PerBlockUs, double WorkFactor);

/// <summary>One whole plan measured end to end: its isolated prediction (sum of parts), the measurement, the calibrated
/// prediction, and its weight in the robust fit (0 = outlier, ignored).</summary>
public sealed record CalibrationPoint(IReadOnlyList<string> Configurations, double IsolatedUs, double MeasuredUs, double PredictedUs, double Weight);
