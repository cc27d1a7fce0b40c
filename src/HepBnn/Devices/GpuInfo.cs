using ILGPU;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>One CUDA GPU as ILGPU reports it.</summary>
public sealed record GpuInfo(int Index, string Name, int Multiprocessors, long MemoryBytes, string ComputeCapability, string DriverVersion,
    int WarpSize, int MaxThreadsPerGroup, int MaxSharedMemoryPerGroup)
{
    /// <summary>The PTX ISA version ILGPU compiles this GPU's kernels to ("8.3"); null when ILGPU does not support the GPU.</summary>
    public string? PtxIsa { get; init; }

    public string Summary => $"{Name} (sm_{ComputeCapability.Replace(".", "")}, {Multiprocessors} SMs, {MemoryBytes / (double)(1L << 30):F1} GiB, driver {DriverVersion})";

    internal static GpuInfo From(int index, CudaDevice d) => new(index, d.Name, d.NumMultiprocessors, d.MemorySize,
        d.Architecture is { } a ? $"{a.Major}.{a.Minor}" : "unknown", d.DriverVersion.ToString(),
        d.WarpSize, d.MaxNumThreadsPerGroup, d.MaxSharedMemoryPerGroup)
    { PtxIsa = d.InstructionSet is { } isa ? $"{isa.Major}.{isa.Minor}" : null };
}

/// <summary>Finds CUDA GPUs once per process. A missing or broken driver is a reason, never an exception.</summary>
public static class GpuDetection
{
    static readonly Lazy<(IReadOnlyList<GpuInfo> Gpus, string? Problem)> Cached = new(Probe);

    /// <summary>The CUDA GPUs ILGPU can use; empty with <see cref="Problem"/> set when there are none.</summary>
    public static IReadOnlyList<GpuInfo> Gpus => Cached.Value.Gpus;

    /// <summary>Why no CUDA GPU is usable (null when one is).</summary>
    public static string? Problem => Cached.Value.Problem;

    /// <summary>"no CUDA GPU" or "no usable CUDA GPU: reason" when <see cref="Gpus"/> is empty.</summary>
    public static string Status => Gpus.Count > 0 ? $"{Gpus.Count} CUDA GPU(s)" : Problem ?? "no CUDA GPU";

    static (IReadOnlyList<GpuInfo>, string?) Probe()
    {
        try
        {
            using var context = Context.Create(b => b.Cuda());
            var devices = context.GetCudaDevices();
            if (devices.Count == 0) return ([], "no CUDA GPU");
            var list = new List<GpuInfo>();
            for (int i = 0; i < devices.Count; i++) list.Add(GpuInfo.From(i, devices[i]));
            return (list, null);
        }
        catch (Exception e)
        {
            return ([], $"no usable CUDA GPU: {Describe(e)}");
        }
    }

    internal static string Describe(Exception e)
    {
        var inner = e;
        while (inner is TypeInitializationException && inner.InnerException is not null) inner = inner.InnerException;
        return $"{inner.GetType().Name}: {inner.Message}";
    }
}
