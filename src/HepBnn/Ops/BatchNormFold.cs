using HepBnn.Model;

namespace HepBnn.Ops;

/// <summary>A binarizing threshold on an integer x: out bit = 1 (+1) iff Sign·x ≥ Value.
/// Sign is +1 (x ≥ T), −1 (x ≤ −Value) or 0 (constant: Value 0 → always +1, Value 1 → always −1).</summary>
public readonly record struct Threshold(int Sign, int Value)
{
    public bool Fires(long x) => Sign * x >= Value;
}

/// <summary>Folds BatchNorm + sign into integer thresholds on the host, in float64 (DESIGN.md "Semantics").</summary>
public static class BatchNormFold
{
    /// <summary>Thresholds beyond ±Clamp are unreachable by any activation sum; clamping keeps them in int range.</summary>
    const double Clamp = 1 << 30;

    /// <summary>BN scale s = γ / sqrt(var + ε); ±∞ when var + ε = 0 (the limit), 0 when γ = 0.</summary>
    public static double Scale(BatchNormParams p, int c)
    {
        double g = p.Gamma[c];
        if (g == 0) return 0;
        double d = Math.Sqrt(p.Variance[c] + p.Epsilon);
        return d == 0 ? (g > 0 ? double.PositiveInfinity : double.NegativeInfinity) : g / d;
    }

    /// <summary>Threshold on y = (x − offset) / divisor for channel c (offset/divisor describe the first layer's
    /// input normalization; 0 and 1 for hidden layers).</summary>
    public static Threshold Fold(BatchNormParams p, int c, double offset = 0, double divisor = 1)
    {
        double s = Scale(p, c);
        if (s == 0) return new Threshold(0, p.Beta[c] >= 0 ? 0 : 1);
        double t = double.IsInfinity(s) ? p.Mean[c] : p.Mean[c] - p.Beta[c] / s;
        double onX = offset + divisor * t;
        if (s > 0) return new Threshold(1, ClampToInt(Math.Ceiling(onX)));
        return new Threshold(-1, -ClampToInt(Math.Floor(onX)));
    }

    static int ClampToInt(double v) => (int)Math.Clamp(v, -Clamp, Clamp);

    /// <summary>The float model's own decision, used by the reference: sign(s·(y − μ) + β) with sign(0)=+1.</summary>
    public static bool FloatDecision(BatchNormParams p, int c, double y)
    {
        double s = Scale(p, c);
        if (double.IsInfinity(s)) return Math.Sign(s) * (y - p.Mean[c]) >= 0;
        return s * (y - p.Mean[c]) + p.Beta[c] >= 0;
    }

    /// <summary>Per-class affine of the last layer's integer scores.</summary>
    public static double ScoreAffine(BatchNormParams p, int c, double x)
    {
        double s = Scale(p, c);
        if (double.IsInfinity(s)) s = 0; // degenerate statistics: no scaling information, keep β only
        return s * (x - p.Mean[c]) + p.Beta[c];
    }
}
