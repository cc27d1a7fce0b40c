using HepBnn.Ops;
namespace HepBnn.Planning;

/// <summary>How much time profiling may spend. Budgets are spread over the measurements, so the total stays roughly
/// fixed whatever the model; a single measurement still takes at least a few runs of the block.</summary>
public sealed record ProfileOptions
{
    /// <summary>Time for all (block, configuration) measurements together.</summary>
    public double KernelBudgetSeconds { get; init; } = 6;
    /// <summary>Bounds of one measurement's budget.</summary>
    public double MinMeasurementMs { get; init; } = 2;
    public double MaxMeasurementMs { get; init; } = 150;
    public int MinSamples { get; init; } = 3;
    /// <summary>A configuration this much slower than the best of its block on its device is abandoned after one or two samples.</summary>
    public double PruneFactor { get; init; } = 2;
    public double TransferBudgetSeconds { get; init; } = 1;
    /// <summary>Whole plans measured end to end to calibrate the isolated numbers (0 = no calibration).</summary>
    public int CalibrationPlans { get; init; } = 4;
    public double CalibrationBudgetSeconds { get; init; } = 3;
    /// <summary>Time for measuring the found plan with copies and with mapped host I/O (<see cref="HostIoBenchmark"/>; 0 = not
    /// measured, the plan then copies); half as much again for each other candidate measured with it (<see cref="HostIoCandidates"/>). Spent only where the plan has GPU blocks and the GPU can map host memory.</summary>
    public double HostIoBudgetSeconds { get; init; } = 0.6;
    public int Seed { get; init; } = 1;
    /// <summary>Which configurations to profile (default: every one whose device this machine has).</summary>
    public Func<IKernelConfiguration, bool> Include { get; init; } = _ => true;

    /// <summary>Tiny budgets: for tests and smoke runs (numbers are rough).</summary>
    public static ProfileOptions Quick { get; } = new()
    {
        KernelBudgetSeconds = 0.05, MinMeasurementMs = 0.1, MaxMeasurementMs = 1, MinSamples = 3,
        TransferBudgetSeconds = 0.01, CalibrationPlans = 2, CalibrationBudgetSeconds = 0.02, HostIoBudgetSeconds = 0.01,
    };
}

/// <summary>Progress of a profile in planned milliseconds of work (for a progress bar with ETA).</summary>
public readonly record struct ProfileProgress(string Step, double Done, double Total);
