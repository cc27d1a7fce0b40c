namespace HepBnn.Ops.Cpu;

/// <summary>Working memory of one worker thread for one block, allocated at Prepare so that running allocates nothing.</summary>
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
    /// <summary>Popcounts of one 64-channel word (scores output).</summary>
    public ulong[] Counts { get; } = new ulong[64];

    public CpuScratch(CpuBlockData d)
    {
        Patch = d.IsImage || d.PatchIsSample ? [] : new ulong[d.PatchLength];
        PatchB = d.IsImage || d.PatchIsSample ? [] : new ulong[d.PatchLength];
        Pixels = d.IsImage ? new byte[d.PatchLength] : [];
        PixelsB = d.IsImage ? new byte[d.PatchLength] : [];
        Any = new ulong[d.Block.OutputWords];
        All = new ulong[d.Block.OutputWords];
    }
}
