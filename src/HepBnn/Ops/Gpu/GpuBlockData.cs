using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>Weight layout a configuration wants on the device.</summary>
public enum GpuWeightLayout
{
    /// <summary>As packed on the host: [K][kh][kw][words] (image: [K][kh][kw][C]). One channel's row is contiguous.</summary>
    ChannelMajor,
    /// <summary>[kh][kw][words][ChannelSlots] (image: [kh][kw][C][ChannelSlots]): threads over channels read consecutive words.</summary>
    ChannelMinor,
}

/// <summary>A block's constants on the device, uploaded once in Prepare: packed weights, the int meta array (thresholds,
/// border classes, image weights) and the per-word pooling AND mask.</summary>
public sealed class GpuBlockData : IDisposable
{
    readonly GpuMemory<ulong>? _weights, _poolAnd;
    readonly GpuMemory<int>? _meta;

    public Block Block { get; }
    public GpuBlockParams Params { get; }
    public ArrayView<ulong> Weights => _weights!.View;
    public ArrayView<int> Meta => _meta!.View;
    public ArrayView<ulong> PoolAnd => _poolAnd!.View;

    public GpuBlockData(GpuDevice gpu, Block block, GpuWeightLayout layout, GpuBlockParams p)
        : this(gpu, block, p, Arrays(block, layout, p)) { }

    /// <summary>A block's constants in a configuration's own layout.</summary>
    public GpuBlockData(GpuDevice gpu, Block block, GpuBlockParams p, (ulong[] Weights, int[] Meta, ulong[] PoolAnd) arrays)
    {
        Block = block;
        Params = p;
        try
        {
            _weights = gpu.Upload(arrays.Weights);
            _meta = gpu.Upload(arrays.Meta);
            _poolAnd = gpu.Upload(arrays.PoolAnd);
        }
        catch
        {
            Dispose(); // what was uploaded before the failure
            throw;
        }
    }

    /// <summary>The pooling AND mask per output word (zeros without pooling: OR of one bit is the bit).</summary>
    public static ulong[] PoolAndWords(Block block) =>
        block.HasPool && block.PoolAndMask.Length > 0 ? block.PoolAndMask : new ulong[Math.Max(1, block.OutputWords)];

    internal static (ulong[], int[], ulong[]) Arrays(Block block, GpuWeightLayout layout, GpuBlockParams p)
    {
        int slots = p.ChannelSlots, taps = block.KernelH * block.KernelW;
        ulong[] weights = [0];
        if (block.PackedWeights is { } packed)
            weights = layout == GpuWeightLayout.ChannelMajor ? packed : Transpose(packed, block.OutChannels, taps * block.InputWords, slots);
        var meta = new List<int>(p.ImageWeightOffset + 16);
        meta.AddRange(block.ThresholdSign);
        meta.AddRange(block.ThresholdValue);
        meta.AddRange(block.RowClassOf);
        meta.AddRange(block.ColClassOf);
        // 64-bit values as (high, low) int pairs (meta is an int array); nothing unless per-channel divisors
        foreach (long v in block.ChannelMultipliers.Concat(block.WideThresholdValue)) { meta.Add((int)(v >> 32)); meta.Add((int)v); }
        if (block.ImageWeights is { } image)
        {
            int row = taps * block.InputShape.C;
            var w = image.Select(v => (int)v).ToArray();
            meta.AddRange(layout == GpuWeightLayout.ChannelMajor ? w : Transpose(w, block.OutChannels, row, slots));
        }

        if (meta.Count == 0) meta.Add(0);
        return (weights, meta.ToArray(), PoolAndWords(block));
    }

    /// <summary>[k][t] → [t][slots] with zero channels beyond k.</summary>
    static T[] Transpose<T>(T[] source, int k, int rowLength, int slots)
    {
        var t = new T[(long)rowLength * slots];
        for (int ch = 0; ch < k; ch++)
            for (int i = 0; i < rowLength; i++)
                t[(long)i * slots + ch] = source[(long)ch * rowLength + i];
        return t;
    }

    public void Dispose()
    {
        _weights?.Dispose();
        _meta?.Dispose();
        _poolAnd?.Dispose();
    }
}
