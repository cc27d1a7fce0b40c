namespace HepBnn.Model;

/// <summary>Shape inference and structural checks. Every problem becomes one <see cref="HepBnnException"/> naming the layer.</summary>
public static class ModelValidator
{
    /// <summary>Upper bounds that keep every index in int range and every allocation proportional to the model.</summary>
    public const int MaxDim = 1 << 14;
    public const long MaxElements = 1L << 28;
    /// <summary>Values of one input image (e.g. 4096×4096×1 or 2364×2364×3): a crafted file declaring a larger input is
    /// refused up front instead of costing gigabytes per image when it runs.</summary>
    public const long MaxInputElements = 1L << 24;

    public static void Validate(BnnModel model)
    {
        if (model.InputShape.Elements > MaxInputElements)
            throw new HepBnnException($"input {model.InputShape} has {model.InputShape.Elements} values per image, the limit is {MaxInputElements}");
        var shapes = OutputShapes(model.InputShape, model.Layers);
        if (model.Layers.Count == 0) throw new HepBnnException("model has no layers");
        if (model.Layers[0] is not InputConv2d)
            throw new HepBnnException($"layer 0 ({model.Layers[0].Kind}): the first layer must be InputConv2d (8-bit image input)");
        for (int i = 0; i < model.Layers.Count; i++)
        {
            if (model.Layers[i] is InputConv2d && i != 0)
                throw new HepBnnException($"layer {i} (InputConv2d): only the first layer may take the image input");
            if (model.Layers[i] is ScoreBatchNorm && i != model.Layers.Count - 1)
                throw new HepBnnException($"layer {i} (ScoreBatchNorm): BatchNorm without sign is only allowed as the last layer");
        }
        _ = shapes;
    }

    public static IReadOnlyList<Shape3> OutputShapes(Shape3 input, IReadOnlyList<Layer> layers)
    {
        CheckShape(input, "input");
        var result = new List<Shape3>(layers.Count);
        var s = input;
        for (int i = 0; i < layers.Count; i++)
        {
            string where = $"layer {i} ({layers[i].Kind})";
            s = layers[i] switch
            {
                InputConv2d c => ConvShape(s, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights, where, c.Normalization),
                BinaryConv2d c => ConvShape(s, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights, where, null),
                BinaryDense d => DenseShape(s, d, where),
                MaxPool2d p => PoolShape(s, p, where),
                BatchNormSign b => CheckBatchNorm(s, b.Params, where),
                ScoreBatchNorm b => CheckBatchNorm(s, b.Params, where),
                Flatten => new Shape3(1, 1, checked((int)s.Elements)),
                _ => throw new HepBnnException($"{where}: unknown layer type"),
            };
            CheckShape(s, where);
            result.Add(s);
        }
        return result;
    }

    static void CheckShape(Shape3 s, string where)
    {
        if (s.H < 1 || s.W < 1 || s.C < 1 || s.H > MaxDim || s.W > MaxDim || s.C > MaxDim || s.Elements > MaxElements)
            throw new HepBnnException($"{where}: shape {s} is empty or too large (each dim 1..{MaxDim}, at most {MaxElements} elements)");
    }

    static Shape3 ConvShape(Shape3 s, int k, int kh, int kw, int stride, int pad, sbyte[] w, string where, InputNormalization? norm)
    {
        if (k < 1 || k > MaxDim) throw new HepBnnException($"{where}: output channels {k} out of range 1..{MaxDim}");
        if (kh < 1 || kw < 1 || kh > 64 || kw > 64) throw new HepBnnException($"{where}: kernel {kh}x{kw} out of range 1..64");
        if (stride < 1 || stride > 64) throw new HepBnnException($"{where}: stride {stride} out of range 1..64");
        if (pad < 0 || pad > 64) throw new HepBnnException($"{where}: padding {pad} out of range 0..64");
        int oh = (s.H + 2 * pad - kh) / stride + 1, ow = (s.W + 2 * pad - kw) / stride + 1;
        if (s.H + 2 * pad < kh || s.W + 2 * pad < kw) throw new HepBnnException($"{where}: kernel {kh}x{kw} larger than padded input {s}");
        long expected = (long)k * kh * kw * s.C;
        if (w.LongLength != expected) throw new HepBnnException($"{where}: weights have {w.LongLength} values, expected {expected} (K={k}, {kh}x{kw}, C={s.C})");
        CheckPlusMinusOne(w, where);
        if (norm is not null)
        {
            if (norm.Offset.Length != s.C) throw new HepBnnException($"{where}: normalization has {norm.Offset.Length} offsets, input has {s.C} channels");
            if (!(norm.Divisor > 0) || double.IsInfinity(norm.Divisor)) throw new HepBnnException($"{where}: normalization divisor must be finite and > 0");
            if (norm.Offset.Any(o => !double.IsFinite(o))) throw new HepBnnException($"{where}: normalization offsets must be finite");
            if (norm.ChannelDivisors is { } d)
            {
                if (d.Length != s.C) throw new HepBnnException($"{where}: normalization has {d.Length} divisors, input has {s.C} channels");
                if (d.Any(v => !(v > 0) || double.IsInfinity(v))) throw new HepBnnException($"{where}: normalization divisors must be finite and > 0");
                if (s.C > InputNormalizationLimits.MaxChannels)
                    throw new HepBnnException($"{where}: per-channel normalization divisors on {s.C} input channels (at most {InputNormalizationLimits.MaxChannels} supported)");
            }
        }
        return new Shape3(oh, ow, k);
    }

    static Shape3 DenseShape(Shape3 s, BinaryDense d, string where)
    {
        if (d.OutFeatures < 1 || d.OutFeatures > MaxDim) throw new HepBnnException($"{where}: output features {d.OutFeatures} out of range 1..{MaxDim}");
        long expected = (long)d.OutFeatures * s.Elements;
        if (d.Weights.LongLength != expected) throw new HepBnnException($"{where}: weights have {d.Weights.LongLength} values, expected {expected} ({d.OutFeatures}x{s.Elements})");
        CheckPlusMinusOne(d.Weights, where);
        return new Shape3(1, 1, d.OutFeatures);
    }

    static Shape3 PoolShape(Shape3 s, MaxPool2d p, string where)
    {
        if (p.Size < 1 || p.Stride < 1 || p.Size > s.H || p.Size > s.W)
            throw new HepBnnException($"{where}: pool size {p.Size} / stride {p.Stride} invalid for input {s}");
        return new Shape3((s.H - p.Size) / p.Stride + 1, (s.W - p.Size) / p.Stride + 1, s.C);
    }

    static Shape3 CheckBatchNorm(Shape3 s, BatchNormParams p, string where)
    {
        if (p.Gamma.Length != s.C || p.Beta.Length != s.C || p.Mean.Length != s.C || p.Variance.Length != s.C)
            throw new HepBnnException($"{where}: BatchNorm parameters must have {s.C} values each (γ {p.Gamma.Length}, β {p.Beta.Length}, μ {p.Mean.Length}, var {p.Variance.Length})");
        if (!double.IsFinite(p.Epsilon) || p.Epsilon < 0) throw new HepBnnException($"{where}: BatchNorm epsilon must be finite and ≥ 0");
        for (int c = 0; c < s.C; c++)
        {
            if (!double.IsFinite(p.Gamma[c]) || !double.IsFinite(p.Beta[c]) || !double.IsFinite(p.Mean[c]) || !double.IsFinite(p.Variance[c]))
                throw new HepBnnException($"{where}: BatchNorm channel {c} has a non-finite parameter");
            if (p.Variance[c] < 0) throw new HepBnnException($"{where}: BatchNorm channel {c} has negative variance {p.Variance[c]}");
            if (p.Variance[c] + p.Epsilon <= 0 && p.Gamma[c] != 0)
                throw new HepBnnException($"{where}: BatchNorm channel {c} has variance + epsilon = 0 with γ ≠ 0 (division by zero)");
        }
        return s;
    }

    static void CheckPlusMinusOne(sbyte[] w, string where)
    {
        // vectorised search: VGG7 has ~13 M weights, and a scalar loop here was the largest part of loading a model
        int i = w.AsSpan().IndexOfAnyExcept((sbyte)1, (sbyte)-1);
        if (i >= 0) throw new HepBnnException($"{where}: weight {i} is {w[i]}, binary weights must be +1 or -1");
    }
}
