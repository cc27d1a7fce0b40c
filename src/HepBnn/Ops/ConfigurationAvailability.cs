namespace HepBnn.Ops;

/// <summary>A configuration that needs something this machine may lack (an instruction set): says what, so that
/// `info` shows it as unavailable and a session naming it explains why instead of "does not support block ...".</summary>
public interface IMachineRequirement
{
    /// <summary>Null when this machine can run the configuration; otherwise why not (e.g. "this CPU lacks AVX-512BW").</summary>
    string? UnavailableReason { get; }
}

public static class ConfigurationAvailability
{
    /// <summary>Why <paramref name="configuration"/> cannot run on this machine, or null.</summary>
    public static string? Reason(IKernelConfiguration configuration) => (configuration as IMachineRequirement)?.UnavailableReason;
}
