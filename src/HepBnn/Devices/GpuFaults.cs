using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>The GPU cannot be used (none present, driver failure, out of memory, a failed copy or launch). Callers that
/// can run on the CPU instead (the CLI) catch this type and fall back; everyone else sees one clear message.</summary>
public class GpuUnavailableException : HepBnnException
{
    public GpuUnavailableException(string message) : base(message) { }
    public GpuUnavailableException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>A device allocation that did not fit.</summary>
public sealed class GpuOutOfMemoryException(long bytes, string message, Exception? inner = null)
    : GpuUnavailableException(message, inner ?? new OutOfMemoryException(message))
{
    public long Bytes { get; } = bytes;
}

/// <summary>Turns ILGPU/CUDA exceptions into <see cref="GpuUnavailableException"/> with context at the library boundary,
/// so that no ILGPU exception type escapes. Used with <c>catch (Exception e) when (GpuFaults.IsDeviceFault(e))</c>
/// (no lambdas: the guarded paths run per inference and must not allocate).</summary>
public static class GpuFaults
{
    /// <summary>Anything but our own exceptions and disposal/cancellation, which keep their meaning.</summary>
    public static bool IsDeviceFault(Exception e) => e is not (HepBnnException or ObjectDisposedException or OperationCanceledException);

    public static bool IsOutOfMemory(Exception e) =>
        e is OutOfMemoryException || e is CudaException c && (c.Error.Contains("OUT_OF_MEMORY", StringComparison.Ordinal) ||
                                                              c.Message.Contains("out of memory", StringComparison.OrdinalIgnoreCase));

    /// <summary>"<paramref name="what"/> failed on <paramref name="gpu"/>: ExceptionType: message".</summary>
    public static GpuUnavailableException Wrap(Exception e, string what, GpuDevice? gpu = null) =>
        new($"{what} failed{(gpu is null ? "" : $" on {gpu.Description}")}: {GpuDetection.Describe(e)}", e);

    /// <summary>"GPU out of memory allocating N bytes" (the session adds "for block X (batch B)").</summary>
    public static GpuOutOfMemoryException OutOfMemory(long bytes, Exception? inner = null) =>
        new(bytes, $"GPU out of memory allocating {bytes} bytes", inner);
}
