namespace HepBnn.Devices;

/// <summary>Which device plays the GPU in a session.</summary>
public enum GpuSelection
{
    /// <summary>The first CUDA GPU if one is usable, else none (everything stays on the CPU).</summary>
    Auto,
    /// <summary>A CUDA GPU is required; using the GPU without one is an error that names the reason.</summary>
    Cuda,
    /// <summary>ILGPU's CPU accelerator (32-lane warps emulated with threads) acts as the GPU: slow, but runs every GPU
    /// kernel on machines without CUDA, which is how the GPU configurations are tested.</summary>
    CpuAccelerator,
    /// <summary>No GPU.</summary>
    None,
}

public static class GpuSelections
{
    public static GpuSelection Parse(string text) => text.ToLowerInvariant() switch
    {
        "auto" => GpuSelection.Auto,
        "cuda" => GpuSelection.Cuda,
        "cpu-accelerator" or "cpuaccelerator" => GpuSelection.CpuAccelerator,
        "none" => GpuSelection.None,
        _ => throw new HepBnnException($"GPU selection must be auto, cuda, cpu-accelerator or none (got '{text}')"),
    };
}
