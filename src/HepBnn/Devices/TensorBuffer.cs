using System.Runtime.InteropServices;

namespace HepBnn.Devices;

/// <summary>Activation storage on one device: a run of 64-bit words. Image bytes and int scores are viewed through it.</summary>
public abstract class TensorBuffer : IDisposable
{
    public abstract DeviceKind Device { get; }
    public abstract long Words { get; }
    public virtual void Dispose() { }
}

/// <summary>Host memory on the pinned object heap, so GPU copies can use it without staging and kernels can use pointers.</summary>
public sealed class HostBuffer : TensorBuffer
{
    public ulong[] Data { get; }
    public HostBuffer(long words)
    {
        if (words > Array.MaxLength)
            throw new HepBnnException($"a host buffer of {words} words ({words * 8L >> 20} MiB) exceeds the largest array .NET can allocate; use a smaller batch");
        Data = AlignedArrays.Allocate<ulong>((int)Math.Max(words, 1)); // pinned, on a cache line
    }
    public override DeviceKind Device => DeviceKind.Cpu;
    public override long Words => Data.LongLength;
    public Span<ulong> Span => Data;
    public Span<byte> Bytes => MemoryMarshal.AsBytes(Data.AsSpan());
    public Span<int> Ints => MemoryMarshal.Cast<ulong, int>(Data.AsSpan());
}
