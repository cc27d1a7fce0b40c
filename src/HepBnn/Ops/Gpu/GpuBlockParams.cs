using System.Runtime.InteropServices;

namespace HepBnn.Ops.Gpu;

/// <summary>Everything a GPU kernel needs to know about a block, passed by value at launch (plain ints only).
/// Offsets index the block's int "meta" array on the device: [sign K][threshold values][row class][col class]
/// [per-channel divisors: q_c, wide thresholds][image weights].</summary>
public struct GpuBlockParams : IEquatable<GpuBlockParams>
{
    public int ImageInput;   // 1: input is bytes [N][H][W][C]; 0: bits [N][H][W][InWords]
    public int ScoresOutput; // 1: int scores [N][pixels][K]; 0: bits
    public int InH, InW, InC, InWords;
    public int InSample;     // per sample: bytes (image) or words (bits)
    public int ConvH, ConvW, K;
    public int OutH, OutW, OutWords;
    public int OutSample;    // per sample: words (bits) or ints (scores)
    public int ChannelSlots; // channel positions the thread grid spans: OutWords·64 (bits), K rounded up to 32 (scores)
    public int KH, KW, Stride, Pad;
    public int Pool, PoolStride; // 1, 1 without pooling
    public int RowClasses, ColClasses;
    public int ValueOffset, RowOfOffset, ColOfOffset, ImageWeightOffset;
    public int Lanes;        // warp-reduce: lanes that share one output channel's reduction (power of two ≤ 32); tensor core: threads per group
    public int StageWords;   // tiled: shared-memory words per group
    public int TileCols;     // tiled: output columns per group (set per launch)
    public int Batch;        // tensor core: samples of this launch (tiles span samples)
    public int KWords, KSteps; // tensor core: reduction words (kh·kw·InWords) and 256-bit MMA steps over them
    public int TilePooled;   // tensor core: pooled outputs per tile (whole pooling windows in its 64 rows)
    public int PaddedK, SpanOffset; // tensor core: stride of the per-class tables, offset of the span table in meta
    public int YSign;        // tensor core: +1 bits input (threshold on P − popc(w)), 0 image (on the raw sum)
    public int RowStride;    // tensor-core-wide: shared-memory stride of a staged patch row (32-bit units)
    public int TilesPerGroup; // tensor-core-wide: 64-channel tiles one group computes from its staged patches (set per launch)
    public int PairOffset;   // tensor-core-wide bits: offset (a multiple of 4) of the per-class ThresholdPair table in meta
    public int ChannelSums;  // 1: image block with per-channel divisors (P = Σ_c q_c·S_c in 64 bits, wide thresholds)
    public int MultiplierOffset, WideValueOffset; // per-channel divisors: q_c and the wide thresholds in meta, as (hi, lo) int pairs

    public static GpuBlockParams From(Block b)
    {
        bool bits = b.Output == BlockOutput.Bits;
        var p = new GpuBlockParams
        {
            ImageInput = b.Input == BlockInput.Image ? 1 : 0,
            ScoresOutput = bits ? 0 : 1,
            InH = b.InputShape.H, InW = b.InputShape.W, InC = b.InputShape.C, InWords = b.InputWords,
            InSample = checked((int)(b.Input == BlockInput.Image ? b.InputShape.Elements : b.InputShape.PackedWords)),
            ConvH = b.ConvShape.H, ConvW = b.ConvShape.W, K = b.OutChannels,
            OutH = b.OutputShape.H, OutW = b.OutputShape.W, OutWords = b.OutputWords,
            OutSample = checked((int)(bits ? b.OutputShape.PackedWords : b.OutputShape.Elements)),
            ChannelSlots = bits ? b.OutputWords * 64 : (b.OutChannels + 31) & ~31,
            KH = b.KernelH, KW = b.KernelW, Stride = b.Stride, Pad = b.Padding,
            Pool = b.HasPool ? b.PoolSize : 1, PoolStride = b.HasPool ? b.PoolStride : 1,
            RowClasses = b.RowClasses, ColClasses = b.ColClasses,
        };
        p.ValueOffset = b.ThresholdSign.Length;
        p.RowOfOffset = p.ValueOffset + b.ThresholdValue.Length;
        p.ColOfOffset = p.RowOfOffset + b.RowClassOf.Length;
        p.ChannelSums = b.HasChannelSums ? 1 : 0;
        p.MultiplierOffset = p.ColOfOffset + b.ColClassOf.Length;
        p.WideValueOffset = p.MultiplierOffset + 2 * b.ChannelMultipliers.Length;
        p.ImageWeightOffset = p.WideValueOffset + 2 * b.WideThresholdValue.Length;
        return p;
    }

    /// <summary>Units of one output's reduction: 64-bit words (bits input) or pixel values (image input).</summary>
    public readonly int ReductionLength => KH * KW * (ImageInput == 1 ? InC : InWords);

    /// <summary>Input rows one pooled output row reads (what a tiled group stages).</summary>
    public readonly int RowsPerOutputRow => (Pool - 1) * Stride + KH;

    /// <summary>Field-by-field equality (all plain ints, no padding): whether a launch's parameters are the ones a
    /// constant-shape kernel was compiled with (<see cref="GpuConstantKernel"/>). Allocation-free.</summary>
    public readonly bool Equals(GpuBlockParams other) => Ints(in this).SequenceEqual(Ints(in other));
    public override readonly bool Equals(object? obj) => obj is GpuBlockParams p && Equals(p);
    public override readonly int GetHashCode()
    {
        var h = new HashCode();
        foreach (int v in Ints(in this)) h.Add(v);
        return h.ToHashCode();
    }
    public static bool operator ==(GpuBlockParams a, GpuBlockParams b) => a.Equals(b);
    public static bool operator !=(GpuBlockParams a, GpuBlockParams b) => !a.Equals(b);

    /// <summary>Every field in order, as hex: a kernel-cache key for constant-shape kernels.</summary>
    public readonly string Key() => Convert.ToHexString(MemoryMarshal.AsBytes(Ints(in this)));

    static ReadOnlySpan<int> Ints(in GpuBlockParams p) =>
        MemoryMarshal.Cast<GpuBlockParams, int>(MemoryMarshal.CreateReadOnlySpan(ref System.Runtime.CompilerServices.Unsafe.AsRef(in p), 1));
}
