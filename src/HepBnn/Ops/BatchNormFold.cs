using HepBnn.Model;

namespace HepBnn.Ops;

/// <summary>A binarizing threshold on an integer x: out bit = 1 (+1) iff Sign·x ≥ Value.
/// Sign is +1 (x ≥ T), −1 (x ≤ −Value) or 0 (constant: Value 0 → always +1, Value 1 → always −1).</summary>
public readonly record struct Threshold(int Sign, int Value)
{
    public bool Fires(long x) => Sign * x >= Value;
}

/// <summary>A threshold on the 64-bit fixed-point pre-activation P of a first layer with per-channel divisors: fires iff
/// Sign·P ≥ Value (Sign as in <see cref="Threshold"/>).</summary>
public readonly record struct WideThreshold(int Sign, long Value)
{
    public bool Fires(long p) => Sign * p >= Value;
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
    /// input normalization; 0 and 1 for hidden layers).
    /// <para>Hidden layers (y = x): the threshold is then moved to the exact integer where <see cref="FloatDecision"/>
    /// flips, so the two agree at every integer, float ties included. (μ − β/s rounds: with s = 1e20, β = −1e-6,
    /// μ = 5 it is exactly 5.0, yet at x = 5 the float model computes s·0 + β &lt; 0.)</para></summary>
    public static Threshold Fold(BatchNormParams p, int c, double offset = 0, double divisor = 1)
    {
        double s = Scale(p, c);
        if (s == 0) return new Threshold(0, p.Beta[c] >= 0 ? 0 : 1);
        double t = double.IsInfinity(s) ? p.Mean[c] : p.Mean[c] - p.Beta[c] / s;
        double onX = offset + divisor * t;
        bool exactInput = offset == 0 && divisor == 1;
        if (s > 0)
        {
            // +1 iff x ≥ T: the smallest integer where the (monotone) float decision holds.
            int lo = ClampToInt(Math.Ceiling(onX));
            if (exactInput)
                for (int step = 0; step < SnapSteps; step++)
                {
                    if (lo > -(int)Clamp && FloatDecision(p, c, lo - 1)) lo--;
                    else if (lo < (int)Clamp && !FloatDecision(p, c, lo)) lo++;
                    else break;
                }
            return new Threshold(1, lo);
        }
        // +1 iff x ≤ U: the largest such integer.
        int hi = ClampToInt(Math.Floor(onX));
        if (exactInput)
            for (int step = 0; step < SnapSteps; step++)
            {
                if (hi < (int)Clamp && FloatDecision(p, c, hi + 1)) hi++;
                else if (hi > -(int)Clamp && !FloatDecision(p, c, hi)) hi--;
                else break;
            }
        return new Threshold(-1, -hi);
    }

    /// <summary>Thresholds beyond ±2^62 are unreachable by P (|P| &lt; 2^61 by the choice of the fixed-point scale).</summary>
    const double WideClamp = 4611686018427387904.0; // 2^62

    /// <summary>Threshold on P = Σ_c q_c·S_c for channel c of a first layer with per-channel divisors, where
    /// P/<paramref name="scale"/> − <paramref name="offsetP"/>/scale = y (the normalized pre-activation) up to the
    /// fixed-point rounding of q_c: y ≥ t ⇔ P ≥ scale·t + offsetP (scale = 2^K·d_min, offsetP = Σ_c q_c·A_c).</summary>
    public static WideThreshold FoldWide(BatchNormParams p, int c, double offsetP, double scale)
    {
        double s = Scale(p, c);
        if (s == 0) return new WideThreshold(0, p.Beta[c] >= 0 ? 0 : 1);
        double t = double.IsInfinity(s) ? p.Mean[c] : p.Mean[c] - p.Beta[c] / s;
        double onP = offsetP + scale * t;
        if (s > 0) return new WideThreshold(1, (long)Math.Clamp(Math.Ceiling(onP), -WideClamp, WideClamp));
        return new WideThreshold(-1, -(long)Math.Clamp(Math.Floor(onP), -WideClamp, WideClamp));
    }

    /// <summary>Rounding moves the boundary by at most a few integers; the bound only guards against surprises.</summary>
    const int SnapSteps = 64;

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
