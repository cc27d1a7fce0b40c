namespace HepBnn.Devices;

/// <summary>What a plan depends on: CPU and GPUs. Also the plan's platform fingerprint. (Which configurations exist
/// here is the Ops layer's business: <c>ConfigurationRegistry</c>.)</summary>
public sealed record PlatformInfo(CpuFeatures Cpu, IReadOnlyList<string> Gpus)
{
    static readonly Lazy<string> _current = new(() => Detect().Fingerprint);

    /// <summary>This machine's fingerprint (detected once per process); plans and cached plans are keyed by it.</summary>
    public static string CurrentFingerprint => _current.Value;

    /// <summary>The CUDA GPUs with their properties (empty on a CPU-only machine).</summary>
    public IReadOnlyList<GpuInfo> GpuDetails { get; init; } = [];
    /// <summary>"1 CUDA GPU(s)", "no CUDA GPU" or "no usable CUDA GPU: reason".</summary>
    public string GpuStatus { get; init; } = "no CUDA GPU";

    public static PlatformInfo Detect()
    {
        var gpus = GpuDetection.Gpus;
        return new(CpuFeatures.Detect(), gpus.Select(g => $"{g.Name} sm_{g.ComputeCapability.Replace(".", "")} {g.Multiprocessors}SM").ToArray())
        {
            GpuDetails = gpus,
            GpuStatus = GpuDetection.Status,
        };
    }

    /// <summary>Identifies the machine for plan files: CPU model and core count, GPU names.</summary>
    public string Fingerprint => $"cpu={Cpu.Model};cores={Cpu.LogicalCores};gpus={string.Join("|", Gpus)}";
}
