using HepBnn.Runtime;

namespace HepBnn.Devices;

/// <summary>What a plan depends on: CPU, GPUs, and which configurations exist here. Also the plan's platform fingerprint.</summary>
public sealed record PlatformInfo(CpuFeatures Cpu, IReadOnlyList<string> Gpus, IReadOnlyList<string> Configurations)
{
    public static PlatformInfo Detect() => new(CpuFeatures.Detect(), [],
        ConfigurationRegistry.All.Select(c => $"{c.Name} ({c.Device}): {c.Description}").ToArray());

    /// <summary>Identifies the machine for plan files: CPU model and core count, GPU names.</summary>
    public string Fingerprint => $"cpu={Cpu.Model};cores={Cpu.LogicalCores};gpus={string.Join("|", Gpus)}";
}
