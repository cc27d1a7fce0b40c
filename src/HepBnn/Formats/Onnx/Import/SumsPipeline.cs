using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>
/// What the graph does to one layer's integer sums S before they are binarized (or become the class scores): per-channel
/// additions, scalings, BatchNorm and at most one max pool, in graph order. <see cref="CloseBinarized"/> /
/// <see cref="CloseScores"/> turn the steps into the engine's layers:
/// <list type="bullet">
/// <item>a BatchNormalization node, with only additive constants (e.g. a bias) before it: its parameters as they are, the
/// bias folded into the mean (BN(S + b) has mean μ − b);</item>
/// <item>HepBnn's exact export pattern <c>(S − μ)·Div(γ, Sqrt(var + ε)) + β</c>: γ, β, μ, var, ε exactly;</item>
/// <item>anything else: the composition v = a·S + b per channel, as BatchNorm(γ = a, β = b, μ = 0, var = 1, ε = 0),
/// whose decision a·S + b ≥ 0 is the graph's.</item>
/// </list>
/// A max pool maps to pooling the integer sums when everything before it increases with S (max(a·S + b) = a·max S + b for
/// a &gt; 0), else to pooling the bits when everything after it up to the decision is non-decreasing (sign∘max = max∘sign);
/// otherwise it cannot be expressed exactly and is refused.
/// </summary>
internal sealed class SumsPipeline(int channels, double[] initialScale, string layerName)
{
    public abstract record Step(string Where);
    public sealed record Add(double[] Values, string Where) : Step(Where);
    public sealed record Sub(double[] Values, string Where) : Step(Where);
    public sealed record Mul(double[] Values, string Where, string Operand) : Step(Where);
    public sealed record Div(double[] Values, string Where) : Step(Where);
    public sealed record Bn(BatchNormParams Params, string Where) : Step(Where);
    public sealed record Pool(MaxPool2d Layer, string Where) : Step(Where);

    public enum Decision { GreaterOrEqual, Greater, LessOrEqual, Less }

    /// <summary>γ, var, ε of HepBnn's exported BatchNorm scale sub-graph feeding a Mul operand, when it is one.</summary>
    public delegate bool ExactScaleLookup(string operand, out double[] gamma, out double[] variance, out double epsilon);

    readonly List<Step> _steps = [];
    public int Channels => channels;
    public bool IsEmpty => _steps.Count == 0;
    public bool HasPool => _steps.Any(s => s is Pool);

    public void Append(Step s)
    {
        var values = s switch { Add x => x.Values, Sub x => x.Values, Mul x => x.Values, Div x => x.Values, _ => [] };
        if (values.Any(v => !double.IsFinite(v))) throw new HepBnnException($"{s.Where}: constant has a non-finite value");
        if (s is Bn bn) CheckBatchNorm(bn);
        if (s is Pool && HasPool) throw new HepBnnException($"{s.Where}: a second max pool between {layerName} and its binarization is not supported");
        _steps.Add(s);
    }

    static void CheckBatchNorm(Bn bn)
    {
        var p = bn.Params;
        if (!double.IsFinite(p.Epsilon) || p.Epsilon < 0) throw new HepBnnException($"{bn.Where}: epsilon {p.Epsilon} must be finite and ≥ 0");
        for (int c = 0; c < p.Channels; c++)
        {
            if (!double.IsFinite(p.Gamma[c]) || !double.IsFinite(p.Beta[c]) || !double.IsFinite(p.Mean[c]) || !double.IsFinite(p.Variance[c]))
                throw new HepBnnException($"{bn.Where}: channel {c} has a non-finite parameter");
            if (p.Variance[c] < 0) throw new HepBnnException($"{bn.Where}: channel {c} has negative variance {p.Variance[c]}");
        }
    }

    bool UnitInitialScale => initialScale.All(v => v == 1);

    public (MaxPool2d? Before, BatchNormParams Bn, MaxPool2d? After) CloseBinarized(Decision d, double[] threshold, string where, ExactScaleLookup exact)
    {
        int dir = d is Decision.GreaterOrEqual or Decision.Greater ? 1 : -1;
        var (before, after) = PlacePool(dir);
        var p = ExactParams(exact);
        if (p is not null)
        {
            if (threshold.Any(t => t != 0)) p = p with { Beta = p.Beta.Select((b, c) => b - threshold[c]).ToArray() };
            if (dir < 0) p = p with { Gamma = p.Gamma.Select(g => -g).ToArray(), Beta = p.Beta.Select(b => -b).ToArray() };
            return (before, Check(p, where), after);
        }
        var (a, b) = Compose();
        for (int c = 0; c < channels; c++) { b[c] = (b[c] - threshold[c]) * dir; a[c] *= dir; }
        // strict comparisons on integer-valued a·S + b with a ∈ {−1, 0, 1}: v > 0 ⇔ v − 1 ≥ 0 exactly
        if (d is Decision.Greater or Decision.Less && a.All(x => x is -1 or 0 or 1) && b.All(x => x == Math.Floor(x)))
            for (int c = 0; c < channels; c++) b[c] -= 1;
        return (before, Check(Affine(a, b), where), after);
    }

    public BatchNormParams? CloseScores(string where, ExactScaleLookup exact)
    {
        if (_steps.FirstOrDefault(s => s is Pool) is { } pool)
            throw new HepBnnException($"{pool.Where}: max pooling the class scores is not supported");
        var p = ExactParams(exact);
        if (p is not null) return Check(p, where);
        var (a, b) = Compose();
        if (a.All(x => x == 1) && b.All(x => x == 0)) return null;
        return Check(Affine(a, b), where);
    }

    /// <summary>The BatchNorm parameters as written, for the two patterns that carry them (see class summary).</summary>
    BatchNormParams? ExactParams(ExactScaleLookup exact)
    {
        if (!UnitInitialScale) return null;
        var ops = _steps.Where(s => s is not Pool).ToList();
        if (ops.Count == 3 && ops[0] is Sub mu && ops[1] is Mul m && ops[2] is Add beta && exact(m.Operand, out var g, out var v, out double eps))
            return new BatchNormParams(g, beta.Values, mu.Values, v, eps);
        if (ops.Count >= 1 && ops[^1] is Bn bn && ops.Take(ops.Count - 1).All(s => s is Add or Sub))
        {
            if (ops.Count == 1) return bn.Params;
            var mean = bn.Params.Mean.ToArray();
            foreach (var s in ops.Take(ops.Count - 1))
                for (int c = 0; c < channels; c++) mean[c] -= s is Add add ? add.Values[c] : ((Sub)s).Values[c] * -1;
            return bn.Params with { Mean = mean };
        }
        return null;
    }

    static BatchNormParams Affine(double[] a, double[] b) =>
        new(a, b, new double[a.Length], Enumerable.Repeat(1.0, a.Length).ToArray(), 0);

    static BatchNormParams Check(BatchNormParams p, string where)
    {
        for (int c = 0; c < p.Channels; c++)
            if (!double.IsFinite(p.Gamma[c]) || !double.IsFinite(p.Beta[c]) || !double.IsFinite(p.Mean[c]))
                throw new HepBnnException($"{where}: channel {c} gets a non-finite scale or offset (γ {p.Gamma[c]}, β {p.Beta[c]}, μ {p.Mean[c]})");
        return p;
    }

    /// <summary>Per channel v = a·S + b after all steps (pools skipped: they commute, see <see cref="PlacePool"/>).</summary>
    (double[] A, double[] B) Compose()
    {
        var a = initialScale.ToArray();
        var b = new double[channels];
        foreach (var s in _steps)
            for (int c = 0; c < channels; c++)
                switch (s)
                {
                    case Add x: b[c] += x.Values[c]; break;
                    case Sub x: b[c] -= x.Values[c]; break;
                    case Mul x: a[c] *= x.Values[c]; b[c] *= x.Values[c]; break;
                    case Div x: a[c] /= x.Values[c]; b[c] /= x.Values[c]; break;
                    case Bn x:
                    {
                        double k = BatchNormFold.Scale(x.Params, c);
                        if (!double.IsFinite(k)) throw new HepBnnException($"{x.Where}: channel {c} has variance + ε = 0");
                        a[c] *= k;
                        b[c] = (b[c] - x.Params.Mean[c]) * k + x.Params.Beta[c];
                        break;
                    }
                }
        return (a, b);
    }

    /// <summary>Sign of the per-channel scale of steps [from, to).</summary>
    double ScaleSign(int from, int to, int c)
    {
        double sign = 1;
        for (int i = from; i < to; i++)
            sign *= _steps[i] switch
            {
                Mul x => SignOf(x.Values[c]),
                Div x => SignOf(x.Values[c]),
                Bn x => SignOf(BatchNormFold.Scale(x.Params, c)),
                _ => 1,
            };
        return sign;
    }

    /// <summary>Math.Sign, except NaN stays NaN (Math.Sign throws on it) so that every comparison with it fails.</summary>
    static double SignOf(double v) => v > 0 ? 1 : v < 0 ? -1 : v == 0 ? 0 : double.NaN;

    (MaxPool2d? Before, MaxPool2d? After) PlacePool(int direction)
    {
        int at = _steps.FindIndex(s => s is Pool);
        if (at < 0) return (null, null);
        var pool = (Pool)_steps[at];
        bool increasingBefore = true, monotoneAfter = true;
        for (int c = 0; c < channels; c++)
        {
            if (!(initialScale[c] * ScaleSign(0, at, c) > 0)) increasingBefore = false;
            if (!(ScaleSign(at + 1, _steps.Count, c) * direction >= 0)) monotoneAfter = false;
        }
        if (increasingBefore) return (pool.Layer, null);
        if (monotoneAfter) return (null, pool.Layer);
        throw new HepBnnException($"{pool.Where}: max pooling here cannot be mapped exactly (the values it pools decrease with {layerName}'s sums in some channel, and the binarization after it is not monotone)");
    }
}
