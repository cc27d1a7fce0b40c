using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Reference;

/// <summary>
/// The oracle: the model's layers evaluated literally, one sample at a time, with plain loops over float64 values
/// (±1 activations, exact integer sums), no packing, no threads, no fusion. BatchNorm+sign uses the float model's own
/// decision sign(s·(y−μ)+β), not the folded thresholds, so the engine's folding is checked too.
/// </summary>
public static class ReferenceEngine
{
    /// <summary>Runs the whole model on one image; returns the last layer's raw scores (integers before any ScoreBatchNorm).</summary>
    public static double[] RawScores(BnnModel model, ReadOnlySpan<byte> image)
    {
        var t = RefTensor.FromImage(model.InputShape, image);
        int end = model.Layers[^1] is ScoreBatchNorm ? model.Layers.Count - 1 : model.Layers.Count;
        return RunLayers(model, 0, end, t).Values;
    }

    /// <summary>Final scores after the optional ScoreBatchNorm.</summary>
    public static double[] Scores(BnnModel model, ReadOnlySpan<byte> image)
    {
        var t = RefTensor.FromImage(model.InputShape, image);
        return RunLayers(model, 0, model.Layers.Count, t).Values;
    }

    /// <summary>Runs layers [from, to) on <paramref name="input"/>.</summary>
    public static RefTensor RunLayers(BnnModel model, int from, int to, RefTensor input)
    {
        var t = input;
        for (int i = from; i < to; i++) t = Apply(model.Layers[i], t);
        return t;
    }

    public static RefTensor Apply(Layer layer, RefTensor x) => layer switch
    {
        InputConv2d c => Conv(x, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights, Normalize(x, c.Normalization)),
        BinaryConv2d c => Conv(x, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights, x.Values),
        BinaryDense d => Dense(x, d),
        MaxPool2d p => MaxPool(x, p),
        BatchNormSign b => Map(x, (v, c) => BatchNormFold.FloatDecision(b.Params, c, v) ? 1.0 : -1.0),
        ScoreBatchNorm b => Map(x, (v, c) => BatchNormFold.ScoreAffine(b.Params, c, v)),
        Flatten => new RefTensor(new Shape3(1, 1, (int)x.Shape.Elements), x.Values),
        _ => throw new NotSupportedException(layer.Kind),
    };

    static double[] Normalize(RefTensor x, InputNormalization? n)
    {
        if (n is null) return x.Values;
        var v = new double[x.Values.Length];
        for (int i = 0; i < v.Length; i++) v[i] = (x.Values[i] - n.Offset[i % x.Shape.C]) / n.DivisorOf(i % x.Shape.C);
        return v;
    }

    static RefTensor Conv(RefTensor x, int k, int kh, int kw, int stride, int pad, sbyte[] w, double[] values)
    {
        var s = x.Shape;
        int oh = (s.H + 2 * pad - kh) / stride + 1, ow = (s.W + 2 * pad - kw) / stride + 1;
        var o = new double[oh * ow * k];
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int ch = 0; ch < k; ch++)
                {
                    double sum = 0;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                            if (iy < 0 || iy >= s.H || ix < 0 || ix >= s.W) continue; // zero padding contributes 0
                            for (int c = 0; c < s.C; c++)
                                sum += w[((ch * kh + ky) * kw + kx) * s.C + c] * values[(iy * s.W + ix) * s.C + c];
                        }
                    o[(oy * ow + ox) * k + ch] = sum;
                }
        return new RefTensor(new Shape3(oh, ow, k), o);
    }

    static RefTensor Dense(RefTensor x, BinaryDense d)
    {
        int n = x.Values.Length;
        var o = new double[d.OutFeatures];
        for (int j = 0; j < d.OutFeatures; j++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) sum += d.Weights[(long)j * n + i] * x.Values[i];
            o[j] = sum;
        }
        return new RefTensor(new Shape3(1, 1, d.OutFeatures), o);
    }

    static RefTensor MaxPool(RefTensor x, MaxPool2d p)
    {
        var s = x.Shape;
        int oh = (s.H - p.Size) / p.Stride + 1, ow = (s.W - p.Size) / p.Stride + 1;
        var o = new double[oh * ow * s.C];
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int c = 0; c < s.C; c++)
                {
                    double m = double.NegativeInfinity;
                    for (int dy = 0; dy < p.Size; dy++)
                        for (int dx = 0; dx < p.Size; dx++)
                            m = Math.Max(m, x[oy * p.Stride + dy, ox * p.Stride + dx, c]);
                    o[(oy * ow + ox) * s.C + c] = m;
                }
        return new RefTensor(new Shape3(oh, ow, s.C), o);
    }

    static RefTensor Map(RefTensor x, Func<double, int, double> f)
    {
        var o = new double[x.Values.Length];
        for (int i = 0; i < o.Length; i++) o[i] = f(x.Values[i], i % x.Shape.C);
        return new RefTensor(x.Shape, o);
    }
}
