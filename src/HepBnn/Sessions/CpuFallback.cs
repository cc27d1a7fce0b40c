using HepBnn.Devices;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Sessions;

/// <summary>When the GPU a session wants is missing or fails while it is set up (driver, out of memory, a failed
/// launch), the session runs on the CPU instead, and the reason is reported (<see cref="MappingReport.Fallback"/>,
/// the CLI's one line on stderr).</summary>
public static class CpuFallback
{
    public static readonly Func<IKernelConfiguration, bool> CpuOnly = c => c.Device == DeviceKind.Cpu;

    /// <summary>"GPU unavailable (reason): falling back to the best CPU plan".</summary>
    public static string Line(string reason) => $"GPU unavailable ({reason}): falling back to the best CPU plan";

    public static bool UsesGpu(IReadOnlyList<PlannedBlock> blocks) => blocks.Any(b => b.Device == DeviceKind.Gpu);

    /// <summary>Runs <paramref name="attempt"/> with all devices (null filter); a <see cref="GpuUnavailableException"/>
    /// runs it again with the CPU configurations only and returns the reason. With <paramref name="already"/> set
    /// (the GPU is known to be missing) it goes to the CPU directly.</summary>
    public static (T Result, string? Reason) Run<T>(Func<Func<IKernelConfiguration, bool>?, T> attempt, string? already = null,
        Action<string>? onFault = null)
    {
        if (already is not null) return (attempt(CpuOnly), already);
        try { return (attempt(null), null); }
        catch (GpuUnavailableException e)
        {
            onFault?.Invoke(e.Message); // before the CPU attempt, so callers can say why before it runs
            return (attempt(CpuOnly), e.Message);
        }
    }
}
