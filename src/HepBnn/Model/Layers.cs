namespace HepBnn.Model;

/// <summary>A layer of a BNN, in model order. Weights are ±1 stored as sbyte; activations between hidden layers are ±1.</summary>
public abstract record Layer
{
    public abstract string Kind { get; }
}

/// <summary>Per-channel input normalization x' = (x_raw − Offset[c]) / divisor_c on raw 8-bit pixels: one
/// <see cref="Divisor"/> for every channel, or per-channel <see cref="ChannelDivisors"/> (see DESIGN.md, "First layer":
/// one divisor folds into integer thresholds; per-channel divisors take per-input-channel sums and a 64-bit epilogue).</summary>
public sealed record InputNormalization(double[] Offset, double Divisor)
{
    /// <summary>Per-channel divisors, or null when <see cref="Divisor"/> applies to every channel. Set only when they
    /// differ (<see cref="Create"/>), so a model with one divisor keeps the one-divisor kernels.</summary>
    public double[]? ChannelDivisors { get; init; }

    public double DivisorOf(int c) => ChannelDivisors is { } d ? d[c] : Divisor;

    public bool IsPerChannel => ChannelDivisors is not null;

    /// <summary>Offsets and divisors per channel; equal divisors collapse to one (<see cref="Divisor"/> = their value,
    /// else the smallest).</summary>
    public static InputNormalization Create(double[] offset, double[] divisors)
    {
        if (divisors.Length == 0) throw new HepBnnException("input normalization: no divisor");
        bool one = divisors.All(v => v == divisors[0]);
        return new InputNormalization(offset, one ? divisors[0] : divisors.Min()) { ChannelDivisors = one ? null : divisors };
    }
}

/// <summary>First layer: real-valued 8-bit image input, ±1 weights [K][kh][kw][C], zero padding.</summary>
public sealed record InputConv2d(int OutChannels, int KernelH, int KernelW, int Stride, int Padding,
    sbyte[] Weights, InputNormalization? Normalization) : Layer
{
    public override string Kind => "InputConv2d";
}

/// <summary>Binary convolution on ±1 activations, ±1 weights [K][kh][kw][C], zero padding (out of bounds contributes 0).</summary>
public sealed record BinaryConv2d(int OutChannels, int KernelH, int KernelW, int Stride, int Padding, sbyte[] Weights) : Layer
{
    public override string Kind => "BinaryConv2d";
}

/// <summary>Fully connected layer on ±1 activations; weights [K][features], features in (h, w, c) order of the input.</summary>
public sealed record BinaryDense(int OutFeatures, sbyte[] Weights) : Layer
{
    public override string Kind => "BinaryDense";
}

/// <summary>Max pooling without padding (floor mode). Applied on integers or on ±1 values, wherever the model puts it.</summary>
public sealed record MaxPool2d(int Size, int Stride) : Layer
{
    public override string Kind => "MaxPool2d";
}

/// <summary>BatchNorm statistics per channel (γ, β, running mean μ, running variance, ε).</summary>
public sealed record BatchNormParams(double[] Gamma, double[] Beta, double[] Mean, double[] Variance, double Epsilon)
{
    public int Channels => Gamma.Length;
}

/// <summary>BatchNorm followed by sign: out = +1 iff BN(x) ≥ 0 (sign(0) = +1). Folded to integer thresholds.</summary>
public sealed record BatchNormSign(BatchNormParams Params) : Layer
{
    public override string Kind => "BatchNormSign";
}

/// <summary>BatchNorm without sign, only allowed after the last layer: per-class affine of the integer scores.</summary>
public sealed record ScoreBatchNorm(BatchNormParams Params) : Layer
{
    public override string Kind => "ScoreBatchNorm";
}

/// <summary>Flattens H×W×C into features in (h, w, c) order. A no-op on the packed layout.</summary>
public sealed record Flatten() : Layer
{
    public override string Kind => "Flatten";
}

/// <summary>Limits of the per-channel-divisor first layer (DESIGN.md "First layer").</summary>
public static class InputNormalizationLimits
{
    /// <summary>Input channels with per-channel divisors: images have at most 4 (RGBA); the kernels keep one sum each.</summary>
    public const int MaxChannels = 4;
}
