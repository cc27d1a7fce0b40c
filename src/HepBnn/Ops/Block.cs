using HepBnn.Model;

namespace HepBnn.Ops;

public enum BlockInput { Image, Bits }
public enum BlockOutput { Bits, Scores }

/// <summary>
/// The unit that is planned and executed: one convolution or dense layer (dense = convolution whose kernel covers the
/// whole input, no padding) with what follows it fused exactly: BatchNorm+sign as integer thresholds and an optional
/// max pool, or, for the last block, integer class scores.
/// <para>Max pool on integers followed by the threshold equals, per channel, OR of the thresholded bits when the BN
/// scale is ≥ 0 and AND when it is &lt; 0 (monotonicity); pooling ±1 values after the sign is OR. So every block
/// pools on bits: <see cref="PoolAnd"/> says which channels AND.</para>
/// Layouts: input image bytes [N][H][W][C]; bits [N][H][W][ChannelWords] ulong; scores [N][K] int.
/// </summary>
public sealed class Block
{
    public required int Index { get; init; }
    public required string Name { get; init; }
    public required int FirstLayer { get; init; }
    public required int LastLayer { get; init; }
    public required BlockInput Input { get; init; }
    public required BlockOutput Output { get; init; }
    public required Shape3 InputShape { get; init; }
    /// <summary>Shape of the convolution result before pooling.</summary>
    public required Shape3 ConvShape { get; init; }
    public required Shape3 OutputShape { get; init; }
    public required int KernelH { get; init; }
    public required int KernelW { get; init; }
    public required int Stride { get; init; }
    public required int Padding { get; init; }
    public int OutChannels => ConvShape.C;
    public int InputWords => InputShape.ChannelWords;
    public int OutputWords => OutputShape.ChannelWords;

    /// <summary>Bits input: weights packed [K][kh][kw][InputWords]. Null for image blocks.</summary>
    public ulong[]? PackedWeights { get; init; }
    /// <summary>Image input: ±1 weights [K][kh][kw][C]. Null for bits blocks.</summary>
    public sbyte[]? ImageWeights { get; init; }

    /// <summary>Per output channel: +1, −1 or 0 (see <see cref="Threshold"/>). Bits output only.</summary>
    public int[] ThresholdSign { get; init; } = [];
    /// <summary>[K][RowClasses][ColClasses]: threshold value per border class (1×1 unless the first layer normalizes).</summary>
    public int[] ThresholdValue { get; init; } = [];
    public int RowClasses { get; init; } = 1;
    public int ColClasses { get; init; } = 1;
    /// <summary>Border class of each convolution output row / column.</summary>
    public int[] RowClassOf { get; init; } = [];
    public int[] ColClassOf { get; init; } = [];

    /// <summary>Image blocks whose normalization has per-channel divisors: the fixed-point multiplier q_c of each input
    /// channel's integer sum S_c (DESIGN.md "First layer"); empty otherwise. Such blocks fire on the 64-bit
    /// P = Σ_c q_c·S_c against <see cref="WideThresholdValue"/> instead of <see cref="ThresholdValue"/>.</summary>
    public long[] ChannelMultipliers { get; init; } = [];
    /// <summary>[K][RowClasses][ColClasses]: 64-bit threshold values on P (with <see cref="ThresholdSign"/>); per-channel
    /// divisors only.</summary>
    public long[] WideThresholdValue { get; init; } = [];
    /// <summary>True when the kernels must keep one sum per input channel (per-channel divisors).</summary>
    public bool HasChannelSums => ChannelMultipliers.Length > 0;

    /// <summary>0 = no pooling.</summary>
    public int PoolSize { get; init; }
    public int PoolStride { get; init; }
    /// <summary>Per output channel: 1 if pooling ANDs the bits (integer max pool before a negative-scale BN), else 0 (OR).</summary>
    public byte[] PoolAnd { get; init; } = [];
    /// <summary>Per output word: mask of channels that AND (same information as <see cref="PoolAnd"/>, packed).</summary>
    public ulong[] PoolAndMask { get; init; } = [];

    /// <summary>Scores output: optional BatchNorm applied to the integer scores on the host.</summary>
    public BatchNormParams? ScoreNorm { get; init; }

    public bool HasPool => PoolSize > 0;
    /// <summary>True when the kernel covers the whole input without padding: a dense layer (one output pixel).</summary>
    public bool IsDense => KernelH == InputShape.H && KernelW == InputShape.W && Padding == 0 && ConvShape.H == 1 && ConvShape.W == 1;

    public Threshold ThresholdAt(int k, int oy, int ox) =>
        new(ThresholdSign[k], ThresholdValue[(k * RowClasses + RowClassOf[oy]) * ColClasses + ColClassOf[ox]]);

    public WideThreshold WideThresholdAt(int k, int oy, int ox) =>
        new(ThresholdSign[k], WideThresholdValue[(k * RowClasses + RowClassOf[oy]) * ColClasses + ColClassOf[ox]]);

    /// <summary>Words of a batch's input tensor (image bytes are contiguous across samples, rounded up to whole words).</summary>
    public long InputBufferWords(int batch) => Input == BlockInput.Image ? (batch * InputShape.Elements + 7) / 8 : batch * InputShape.PackedWords;
    /// <summary>Words of a batch's output tensor (int scores are contiguous across samples, two per word).</summary>
    public long OutputBufferWords(int batch) => Output == BlockOutput.Scores ? (batch * OutputShape.Elements + 1) / 2 : batch * OutputShape.PackedWords;

    /// <summary>Binary multiply-accumulates of one sample (for reporting throughput).</summary>
    public long MacsPerSample => ConvShape.Elements * KernelH * KernelW * InputShape.C;

    public override string ToString() =>
        $"{Name}: {InputShape} -> {OutputShape} ({KernelH}x{KernelW}/s{Stride}/p{Padding}{(HasPool ? $", pool {PoolSize}/{PoolStride}" : "")}, {Output})";
}
