using HepBnn.Model;

namespace HepBnn.Tests.Formats;

/// <summary>Names the first difference between two models (for failure messages of round-trip tests).</summary>
public static class ModelDiff
{
    public static string First(BnnModel a, BnnModel b)
    {
        if (a.InputShape != b.InputShape) return $"input {a.InputShape} vs {b.InputShape}";
        if (a.Layers.Count != b.Layers.Count)
            return $"{a.Layers.Count} vs {b.Layers.Count} layers: [{string.Join(" ", a.Layers.Select(l => l.Kind))}] vs [{string.Join(" ", b.Layers.Select(l => l.Kind))}]";
        for (int i = 0; i < a.Layers.Count; i++)
        {
            string? d = (a.Layers[i], b.Layers[i]) switch
            {
                (InputConv2d x, InputConv2d y) => Conv(x.OutChannels, x.KernelH, x.KernelW, x.Stride, x.Padding, x.Weights, y.OutChannels, y.KernelH, y.KernelW, y.Stride, y.Padding, y.Weights)
                    ?? Norm(x.Normalization, y.Normalization),
                (BinaryConv2d x, BinaryConv2d y) => Conv(x.OutChannels, x.KernelH, x.KernelW, x.Stride, x.Padding, x.Weights, y.OutChannels, y.KernelH, y.KernelW, y.Stride, y.Padding, y.Weights),
                (BinaryDense x, BinaryDense y) => x.OutFeatures != y.OutFeatures ? "out features" : Array(x.Weights.Select(v => (double)v), y.Weights.Select(v => (double)v), "weight"),
                (MaxPool2d x, MaxPool2d y) => x != y ? $"{x} vs {y}" : null,
                (BatchNormSign x, BatchNormSign y) => Bn(x.Params, y.Params),
                (ScoreBatchNorm x, ScoreBatchNorm y) => Bn(x.Params, y.Params),
                (Flatten, Flatten) => null,
                var (x, y) => $"{x.Kind} vs {y.Kind}",
            };
            if (d is not null) return $"layer {i} ({a.Layers[i].Kind}): {d}";
        }
        return "no difference";
    }

    static string? Conv(int k, int kh, int kw, int s, int p, sbyte[] w, int k2, int kh2, int kw2, int s2, int p2, sbyte[] w2) =>
        (k, kh, kw, s, p) != (k2, kh2, kw2, s2, p2) ? $"hyper-parameters ({k},{kh},{kw},{s},{p}) vs ({k2},{kh2},{kw2},{s2},{p2})"
        : Array(w.Select(v => (double)v), w2.Select(v => (double)v), "weight");

    static string? Norm(InputNormalization? a, InputNormalization? b) =>
        (a, b) switch
        {
            (null, null) => null,
            (null, _) or (_, null) => $"normalization {(a is null ? "absent" : "present")} vs {(b is null ? "absent" : "present")}",
            _ => a!.Divisor != b!.Divisor ? $"divisor {a.Divisor:R} vs {b.Divisor:R}" : Array(a.Offset, b.Offset, "offset"),
        };

    static string? Bn(BatchNormParams a, BatchNormParams b) =>
        Array(a.Gamma, b.Gamma, "γ") ?? Array(a.Beta, b.Beta, "β") ?? Array(a.Mean, b.Mean, "μ") ?? Array(a.Variance, b.Variance, "var")
        ?? (a.Epsilon.Equals(b.Epsilon) ? null : $"ε {a.Epsilon:R} vs {b.Epsilon:R}");

    static string? Array(IEnumerable<double> a, IEnumerable<double> b, string what)
    {
        var x = a.ToArray();
        var y = b.ToArray();
        if (x.Length != y.Length) return $"{what} count {x.Length} vs {y.Length}";
        for (int i = 0; i < x.Length; i++)
            if (!x[i].Equals(y[i])) return $"{what}[{i}] {x[i]:R} vs {y[i]:R}";
        return null;
    }
}
