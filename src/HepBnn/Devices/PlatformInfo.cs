using HepBnn.Runtime;

namespace HepBnn.Devices;

/// <summary>What a plan depends on: CPU, GPUs, and which configurations exist here. Also the plan's platform fingerprint.</summary>
public sealed record PlatformInfo(CpuFeatures Cpu, IReadOnlyList<string> Gpus, IReadOnlyList<string> Configurations)
{
    /// <summary>The CUDA GPUs with their properties (empty on a CPU-only machine).</summary>
    public IReadOnlyList<GpuInfo> GpuDetails { get; init; } = [];
    /// <summary>"1 CUDA GPU(s)", "no CUDA GPU" or "no usable CUDA GPU: reason".</summary>
    public string GpuStatus { get; init; } = "no CUDA GPU";

    public static PlatformInfo Detect()
    {
        var gpus = GpuDetection.Gpus;
        return new(CpuFeatures.Detect(), gpus.Select(g => $"{g.Name} sm_{g.ComputeCapability.Replace(".", "")} {g.Multiprocessors}SM").ToArray(),
            ConfigurationRegistry.All.Where(c => c.Device == DeviceKind.Cpu || gpus.Count > 0)
                .Select(c => $"{c.Name} ({c.Device}): {c.Description}" +
                             (ConfigurationAvailability.Reason(c) is { } why ? $" — unavailable: {why}" : "")).ToArray())
        {
            GpuDetails = gpus,
            GpuStatus = GpuDetection.Status,
        };
    }

    /// <summary>Identifies the machine for plan files: CPU model and core count, GPU names.</summary>
    public string Fingerprint => $"cpu={Cpu.Model};cores={Cpu.LogicalCores};gpus={string.Join("|", Gpus)}";
}
