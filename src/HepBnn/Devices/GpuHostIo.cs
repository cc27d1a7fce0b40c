using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>How a GPU segment gets its input from and its output to the host buffers.</summary>
public enum GpuHostIo
{
    /// <summary>Copies: host→device into device memory before the first kernel, device→host after the last (two memcpy
    /// nodes in the segment's graph). The default.</summary>
    Copies,
    /// <summary>The last kernel writes straight into the page-locked host output buffer through its mapped address (no
    /// device→host node); the input is still copied.</summary>
    MappedOutput,
    /// <summary>The first kernel also reads the page-locked host input buffer directly (no copy node at all; the first
    /// kernel's reads cross PCIe).</summary>
    Mapped,
}

/// <summary>HEPBNN_MAPPED_IO (0/copies, out, all): the default of <c>SessionOptions.HostIo</c>, and whether a GPU can do it.</summary>
public static class GpuHostIoSwitch
{
    public const string Variable = "HEPBNN_MAPPED_IO";

    public static GpuHostIo FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable));

    /// <summary>The environment's choice, or null where HEPBNN_MAPPED_IO is unset or empty: a session built from a plan
    /// then runs the host I/O the planner measured fastest, while an explicit value (e.g. 0 = copies) still overrides it.</summary>
    public static GpuHostIo? ExplicitFromEnvironment() =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Variable)) ? null : FromEnvironment();

    internal static GpuHostIo Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "0" or "off" or "copies" => GpuHostIo.Copies,
        "out" or "output" => GpuHostIo.MappedOutput,
        "1" or "on" or "all" => GpuHostIo.Mapped,
        var other => throw new HepBnnException($"{Variable} must be 0/copies, out or all (got '{other}')"),
    };

    /// <summary>Null when kernels on <paramref name="gpu"/> can address page-locked host buffers at their host address
    /// (CUDA with unified addressing: the view HostPageLocks keeps is the host pointer); otherwise why not.</summary>
    public static string? Unsupported(GpuDevice gpu) =>
        !gpu.IsCuda ? "the GPU is ILGPU's CPU accelerator"
        : ((CudaAccelerator)gpu.Accelerator).Device.SupportsUsingHostPointerForRegisteredMemory ? null
        : "the device cannot use host pointers of registered memory";
}
