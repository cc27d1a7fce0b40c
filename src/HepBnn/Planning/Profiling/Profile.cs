using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>Everything the optimizer needs about one model at one batch size on one machine: each block's isolated
/// latency in every configuration, the cost of moving each activation tensor between host and device, and the
/// calibration of isolated numbers against whole-plan runs. Saved as JSON (<see cref="ProfileFile"/>).
/// Remeasured: the blocks were timed twice because the first calibration disagreed with every isolated prediction.</summary>
public sealed record Profile(
    string Format,
    string Model,
    string ModelHash,
    int Batch,
    string Platform,
    DateTime CreatedUtc,
    double ProfilingSeconds,
    IReadOnlyList<BlockProfile> Blocks,
    IReadOnlyList<TransferProfile> Transfers,
    Calibration? Calibration,
    bool Remeasured,
    IReadOnlyList<FusedRangeTiming>? FusedRanges = null,
    IReadOnlyList<CpuRegionTiming>? CpuRegions = null,
    HostIoTiming? HostIo = null,
    IReadOnlyList<HostIoTiming>? HostIoOthers = null)
{
    public const string FormatId = "hepbnn-profile/1";
}

/// <summary>One block: the words of its input and output tensors at the profile's batch, and its timing per configuration.</summary>
public sealed record BlockProfile(int Index, string Name, long InputWords, long OutputWords, IReadOnlyList<ConfigurationTiming> Configurations);

/// <summary>Isolated latency of one block in one configuration (µs). Pruned: abandoned after one or two samples as far slower than the best.
/// Threads: for a CPU configuration, the threads it ran on (its region's participants; 0 in profiles from before).</summary>
public sealed record ConfigurationTiming(string Configuration, DeviceKind Device, double MedianUs, double P10Us, double P90Us, int Samples, bool Pruned, int Threads = 0);

/// <summary>An empty CPU region (one block of no work) on <paramref name="Threads"/> participants: the hand-off and join that
/// a run of CPU blocks pays once, on top of its blocks' in-region times. Absent where blocks were timed with a fork-join
/// of their own (regions off) and in profiles from before.</summary>
public sealed record CpuRegionTiming(int Threads, double MedianUs);

public enum TransferDirection { HostToDevice, DeviceToHost }

/// <summary>Moving the tensor at <paramref name="Boundary"/> (0 = the model input, i = output of block i−1 = input of block i,
/// n = the scores) between the host and <paramref name="Device"/>, including the synchronization that completes it.</summary>
public sealed record TransferProfile(int Boundary, DeviceKind Device, TransferDirection Direction, long Words, double MedianUs, double P10Us, double P90Us, int Samples);

/// <summary>Blocks First..Last fused into one GPU kernel (gpu.fused), timed as a whole with input and output on the GPU
/// (as a graph node where graphs are on). Absent in profiles written before fused ranges existed.</summary>
public sealed record FusedRangeTiming(int First, int Last, double MedianUs, double P10Us, double P90Us, int Samples, bool Pruned);

/// <summary>The plan found after calibration (<paramref name="Configurations"/>) measured whole in each way its GPU
/// segments can move their input in and output out (<see cref="GpuHostIo"/>), interleaved: what the planner picks the
/// plan's host I/O from (<see cref="HostIoChoice"/>). Absent where the plan has no GPU block, the GPU cannot map host
/// memory, and in profiles from before. <see cref="Profile.HostIoOthers"/>: the other candidates measured in the same
/// rounds (<see cref="HostIoCandidates"/>: other placements of the blocks, the best all-GPU plan), so that a plan that
/// gains more from mapped I/O than the found one can take its place (<see cref="PlanRanking"/>).</summary>
public sealed record HostIoTiming(IReadOnlyList<string> Configurations, IReadOnlyList<HostIoModeTiming> Modes);

/// <summary>One host I/O mode of the measured plan: its median (µs), spread, samples, the median over rounds of its time
/// divided by the copies' time in the same round (1 for copies itself), and whether its scores equalled the copies' scores.
/// <paramref name="DependentLaunch"/>: the graph edges this row ran with where the profile measured both (programmatic
/// kernel→kernel edges or plain ones, <see cref="GpuDependentLaunch"/>); null where it ran as the resources said (profiles from
/// before, GPUs without programmatic edges). The first row is the baseline the ratios are paired with.</summary>
public sealed record HostIoModeTiming(GpuHostIo Mode, double MedianUs, double P10Us, double P90Us, int Samples, double PairedRatio, bool ScoresMatch,
    bool? DependentLaunch = null);
