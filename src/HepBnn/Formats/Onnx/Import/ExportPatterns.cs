using HepBnn.Model;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>
/// Recognises the two sub-graphs HepBnn's exact export writes (see <c>OnnxExporter</c>), so that import gives back the
/// model's float64 parameters exactly (same <see cref="ModelHash"/>):
/// <list type="bullet">
/// <item>BatchNorm scale <c>S = Div(γ, Sqrt(Add(var, ε)))</c> of constants (γ, var, ε survive separately);</item>
/// <item>the first layer's normalization applied after its convolution, <c>R = ReduceSum(Mul(Cast(Conv(E, W)), O), axes=[0])</c>,
/// where E are one-hot channel images and O the per-channel offsets.</item>
/// </list>
/// </summary>
internal static class ExportPatterns
{
    public static bool TryBatchNormScale(OnnxGraph g, ConstantFolder c, string scale, int rank, int channels,
        out double[] gamma, out double[] variance, out double epsilon)
    {
        gamma = variance = [];
        epsilon = 0;
        if (g.ProducerOf(scale) is not { OpType: "Div" } div || div.Input.Count != 2) return false;
        if (g.ProducerOf(div.Input[1]) is not { OpType: "Sqrt" } sqrt || sqrt.Input.Count != 1) return false;
        if (g.ProducerOf(sqrt.Input[0]) is not { OpType: "Add" } add || add.Input.Count != 2) return false;
        var gm = c.TryGet(div.Input[0])?.PerChannel(rank, channels);
        var vr = c.TryGet(add.Input[0])?.PerChannel(rank, channels);
        var ep = c.TryGet(add.Input[1]);
        if (gm is null || vr is null || ep is not { IsSingleValue: true }) return false;
        (gamma, variance, epsilon) = (gm, vr, ep.Data[0]);
        return true;
    }

    /// <summary>The per-channel offsets O when <paramref name="value"/> is the exported offset term of the first convolution
    /// <paramref name="convNode"/> on an input of shape <paramref name="input"/>; null otherwise.</summary>
    public static double[]? TryNormalizationOffsets(OnnxGraph g, ConstantFolder c, string value, int convNode, Shape3 input)
    {
        if (g.ProducerOf(value) is not { OpType: "ReduceSum" } rs || rs.Input.Count != 2) return null;
        if (c.TryGet(rs.Input[1]) is not { Count: 1 } axes || axes.Data[0] != 0) return null;
        if (g.ProducerOf(rs.Input[0]) is not { OpType: "Mul" } mul || mul.Input.Count != 2) return null;
        if (rs.Attribute.Any(a => a.Name == "keepdims" && a.I != 1) || rs.Attribute.Any(a => a.Name == "noop_with_empty_axes")) return null;
        for (int side = 0; side < 2; side++)
        {
            if (g.ProducerOf(mul.Input[side]) is not { OpType: "Cast" } cast || cast.Input.Count != 1) continue;
            if (g.ProducerOf(cast.Input[0]) is not { OpType: "Conv" } conv || conv.Input.Count != 2) continue;
            var main = g.Nodes[convNode];
            if (conv.Input[1] != main.Input[1] || !conv.Attribute.Equals(main.Attribute)) continue;
            if (c.TryGet(mul.Input[1 - side]) is not { } o || o.Rank != 4 || o.Dims[0] != input.C || o.Count != input.C) continue;
            if (!IsOneHotImages(c.TryGet(conv.Input[0]), input)) continue;
            return o.Data.ToArray();
        }
        return null;
    }

    /// <summary>E[c][c'][y][x] = 1 when c = c', else 0: one image per input channel.</summary>
    static bool IsOneHotImages(ConstTensor? e, Shape3 s)
    {
        if (e is null || e.Rank != 4 || e.Dims[0] != s.C || e.Dims[1] != s.C || e.Dims[2] != s.H || e.Dims[3] != s.W) return false;
        long plane = (long)s.H * s.W;
        for (long i = 0; i < e.Count; i++)
        {
            long img = i / (s.C * plane), ch = i / plane % s.C;
            if (e.Data[i] != (img == ch ? 1 : 0)) return false;
        }
        return true;
    }
}
