using HepBnn.Devices;
namespace HepBnn.Runtime;

/// <summary>
/// A mapping of a model onto this machine: one configuration per block with its predicted times. Saved as JSON
/// (<see cref="PlanFile"/>) and run by <c>new InferenceSession(model, plan)</c>. The model hash and platform fingerprint
/// make sure it is never applied to another model or silently reused on a different machine.
/// </summary>
public sealed record Plan(
    string Format,
    string Model,
    string ModelHash,
    int Batch,
    string Platform,
    DateTime CreatedUtc,
    IReadOnlyList<PlannedBlock> Blocks,
    double OutputTransferUs,
    double OverheadUs,
    double PredictedTotalUs)
{
    public const string FormatId = "hepbnn-plan/1";

    /// <summary>How the plan's GPU segments move their input in and output out, as the planner measured fastest for this
    /// plan (null: not measured, e.g. no GPU block or a plan from before: copies). A session built from the plan uses it
    /// unless <see cref="SessionOptions.HostIo"/> or HEPBNN_MAPPED_IO says otherwise.</summary>
    public GpuHostIo? HostIo { get; init; }

    /// <summary>What <see cref="HostIo"/> measured faster than copies (µs) while profiling.</summary>
    public double HostIoSavingUs { get; init; }

    /// <summary>True where the profile measured this plan whole (a host I/O candidate): <see cref="PredictedTotalUs"/> is then
    /// that measurement in the chosen mode, not the blocks' copies-priced sum (which the blocks and transfers still show).</summary>
    public bool MeasuredWhileProfiling { get; init; }

    /// <summary>Whether the plan's segment graphs have programmatic kernel→kernel edges, as the planner measured faster for
    /// this plan together with <see cref="HostIo"/> (its saving is in <see cref="HostIoSavingUs"/>); null: not measured (no
    /// GPU that can, or a plan from before) — the resources decide. A session built from the plan uses it unless
    /// <see cref="SessionOptions.DependentLaunch"/> or an explicit HEPBNN_PDL says otherwise.</summary>
    public bool? DependentLaunch { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public string[] Configurations => Blocks.Select(b => b.Configuration).ToArray();
}

/// <summary>One block of a plan: predicted = compute (calibrated) + moving its input to the configuration's device.</summary>
public sealed record PlannedBlock(int Index, string Name, string Configuration, DeviceKind Device, double ComputeUs, double TransferInUs, double PredictedUs);
