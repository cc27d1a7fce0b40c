using System.Runtime.InteropServices;

namespace HepBnn.Devices;

/// <summary>The CUDA driver library (libcuda), loaded once, for the driver entry points ILGPU does not wrap: each user
/// (<see cref="CudaGraph"/>, <see cref="CudaGraphEdges"/>, <see cref="GpuLaunchGate"/>, <see cref="MappedHostWord"/>,
/// <see cref="GpuCompletion"/>) resolves its own symbols with <see cref="Export"/> and says which ones it lacks.</summary>
internal static class CudaDriverLibrary
{
    /// <summary>The library's file name on this operating system.</summary>
    public static readonly string Name = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";

    static readonly IntPtr Handle = NativeLibrary.TryLoad(Name, out var lib) ? lib : IntPtr.Zero;

    /// <summary>Why the library could not be loaded (null when it was).</summary>
    public static string? Problem => Handle == IntPtr.Zero ? $"{Name} could not be loaded" : null;

    /// <summary>The address of <paramref name="symbol"/>, or zero when the library or the symbol is missing.</summary>
    public static IntPtr Export(string symbol) =>
        Handle != IntPtr.Zero && NativeLibrary.TryGetExport(Handle, symbol, out var p) ? p : IntPtr.Zero;
}
