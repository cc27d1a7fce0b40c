namespace HepBnn.Ops.Cpu;

/// <summary>Working memory of one worker thread for one block, allocated at Prepare so that running allocates nothing.
/// Every array the worker writes ends in <see cref="Pad"/> unused bytes: the workers' scratches are allocated one after
/// the other, and a small array (a pooled block's 1-word OR/AND accumulators, a 10-byte image patch) would otherwise
/// share a cache line with the next worker's scratch, which then bounces between the two cores on every output pixel.
/// (On the 16-core Xeon, sessions of the same VGG3 b1 plan measured 19–34 µs depending on where their scratch landed.)</summary>
public sealed class CpuScratch
{
    /// <summary>Gathered binary patch (words).</summary>
    public ulong[] Patch { get; }
    /// <summary>The second patch of a pixel pair.</summary>
    public ulong[] PatchB { get; }
    /// <summary>Gathered image patch (pixel bytes, even length).</summary>
    public byte[] Pixels { get; }
    /// <summary>The second image patch of a pixel pair.</summary>
    public byte[] PixelsB { get; }
    /// <summary>Pooling accumulators per output word of a region: OR and AND of the window's bits.</summary>
    public ulong[] Any { get; }
    public ulong[] All { get; }
    /// <summary>Zero-bordered input rows of <see cref="ImageRows512"/> (empty for other blocks).</summary>
    public byte[] ImageRows { get; }
    /// <summary>Popcounts of one 64-channel word (scores output).</summary>
    public ulong[] Counts { get; } = Padded<ulong>(64);
    /// <summary><see cref="CpuPairRows"/>: the gathered pixel pairs of a chunk ([2·ChunkPairs][PairStride] words),
    /// their border classes and their output bits of one word. Empty unless the block takes that path.</summary>
    public ulong[] PairPatches { get; } = [];
    public int[] PairClasses { get; } = [];
    public ulong[] PairBits { get; } = [];
    public int ChunkPairs { get; }
    public int PairStride { get; }
    /// <summary><see cref="CpuPairRows.CellWord"/>: which cell <see cref="PairPatches"/> holds — [0] the run token, [1]
    /// the cell (sample × cells + cell); token 0 = none. On its own cache line: written per item by this worker only.</summary>
    public long[] CachedCell { get; } = Padded<long>(2);

    public CpuScratch(CpuBlockData d)
    {
        Patch = d.IsImage || d.PatchIsSample ? [] : Padded<ulong>(d.PatchLength);
        PatchB = d.IsImage || d.PatchIsSample ? [] : Padded<ulong>(d.PatchLength);
        Pixels = d.IsImage ? Padded<byte>(d.PatchLength) : [];
        PixelsB = d.IsImage ? Padded<byte>(d.PatchLength) : [];
        Any = Padded<ulong>(d.Block.OutputWords);
        All = Padded<ulong>(d.Block.OutputWords);
        ImageRows = ImageRows512.Applies(d) ? Padded<byte>(ImageRows512.BufferBytes(d)) : [];
        if (CpuPairRows.Applies(d))
        {
            (ChunkPairs, PairStride) = CpuPairRows.ChunkOf(d);
            PairPatches = Padded<ulong>(2 * ChunkPairs * PairStride);
            PairClasses = Padded<int>(2 * ChunkPairs);
            PairBits = Padded<ulong>(2 * ChunkPairs);
        }
    }

    /// <summary>Bytes after the used part of every written scratch array: two cache lines (the adjacent-line prefetcher
    /// moves lines in pairs).</summary>
    public const int Pad = 128;

    /// <summary>An array of <paramref name="length"/> used elements followed by <see cref="Pad"/> bytes nobody writes.
    /// Starts on a cache line (<see cref="Devices.AlignedArrays"/>), so what a worker writes never shares a line with another's.</summary>
    public static T[] Padded<T>(int length) where T : unmanaged => Devices.AlignedArrays.Allocate<T>(length + Pad / System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
}
