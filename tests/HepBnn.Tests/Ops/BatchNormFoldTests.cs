using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Tests.Ops;

/// <summary>Property: the folded integer threshold agrees with the float model's BN + sign decision at every integer
/// in the reachable range, for random parameters (seeded). Hidden layers agree exactly, ties included; the normalized
/// first layer (where the reference sums rounded normalized pixels) is checked away from near-exact float ties.</summary>
public class BatchNormFoldTests
{
    const int Range = 400;

    static BatchNormParams RandomParams(Random r, int channels)
    {
        double[] g = new double[channels], b = new double[channels], m = new double[channels], v = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            g[c] = r.Next(8) switch { 0 => 0, 1 => -0.0, _ => (r.Next(2) * 2 - 1) * Math.Pow(10, r.NextDouble() * 6 - 3) };
            b[c] = r.Next(10) == 0 ? 0 : (r.NextDouble() - 0.5) * Math.Pow(10, r.NextDouble() * 4 - 1);
            m[c] = r.Next(6) == 0 ? r.Next(-Range, Range) : (r.NextDouble() - 0.5) * 2.4 * Range; // integer means hit exact ties
            v[c] = r.Next(6) == 0 ? 0 : Math.Pow(10, r.NextDouble() * 8 - 4);
            if (r.Next(8) == 0) { v[c] = 1e-40; b[c] = (r.NextDouble() - 0.5) * 1e-6; } // huge scale: β/s vanishes next to μ
        }
        return new BatchNormParams(g, b, m, v, r.Next(4) switch { 0 => 1e-5, 1 => 1e-3, 2 => 0, _ => 0.1 });
    }

    /// <summary>s·(y − μ) + β is within rounding of 0: the decision there is not defined by the math.</summary>
    static bool NearTie(BatchNormParams p, int c, double y)
    {
        double s = BatchNormFold.Scale(p, c);
        double v = s * (y - p.Mean[c]) + p.Beta[c];
        double scale = Math.Abs(s * y) + Math.Abs(s * p.Mean[c]) + Math.Abs(p.Beta[c]);
        return Math.Abs(v) <= 1e-9 * scale;
    }

    [Fact]
    public void FoldAgreesWithFloatDecisionOnHiddenLayers()
    {
        for (int seed = 1; seed <= 200; seed++)
        {
            var r = new Random(seed);
            var p = RandomParams(r, 16);
            for (int c = 0; c < p.Channels; c++)
            {
                var t = BatchNormFold.Fold(p, c);
                Assert.InRange(t.Sign, -1, 1);
                for (int x = -Range; x <= Range; x++)
                {
                    bool expected = BatchNormFold.FloatDecision(p, c, x);
                    if (t.Fires(x) != expected)
                        Assert.Fail($"seed {seed} channel {c}: γ={p.Gamma[c]:R} β={p.Beta[c]:R} μ={p.Mean[c]:R} var={p.Variance[c]:R} ε={p.Epsilon:R}, " +
                                    $"x={x}: threshold {t} says {t.Fires(x)}, float decision {expected}");
                }
            }
        }
    }

    [Fact]
    public void FoldAgreesWithFloatDecisionOnNormalizedInput()
    {
        // First layer: y = (x − offset) / divisor on the raw integer sum x.
        for (int seed = 1; seed <= 100; seed++)
        {
            var r = new Random(1000 + seed);
            var p = RandomParams(r, 8);
            double offset = (r.NextDouble() - 0.5) * 200, divisor = 0.5 + r.NextDouble() * 100;
            for (int c = 0; c < p.Channels; c++)
            {
                var t = BatchNormFold.Fold(p, c, offset, divisor);
                for (int x = -Range * 20; x <= Range * 20; x += 1)
                {
                    double y = (x - offset) / divisor;
                    if (NearTie(p, c, y)) continue;
                    bool expected = BatchNormFold.FloatDecision(p, c, y);
                    if (t.Fires(x) != expected)
                        Assert.Fail($"seed {seed} channel {c}: γ={p.Gamma[c]:R} β={p.Beta[c]:R} μ={p.Mean[c]:R} var={p.Variance[c]:R} ε={p.Epsilon:R} " +
                                    $"offset={offset:R} divisor={divisor:R}, x={x}: threshold {t} says {t.Fires(x)}, float decision {expected}");
                }
            }
        }
    }

    [Fact]
    public void TiesAtTheMeanFollowTheFloatModel()
    {
        // s = 1/sqrt(1e-40) = 1e20: μ − β/s rounds to μ = 5, but at x = 5 the float model computes s·0 + β.
        var p = new BatchNormParams([1, 1, -1, -1], [-1e-6, 1e-6, -1e-6, 1e-6], [5, 5, 5, 5], [1e-40, 1e-40, 1e-40, 1e-40], 0);
        for (int c = 0; c < 4; c++)
            for (int x = 3; x <= 7; x++)
                Assert.True(BatchNormFold.FloatDecision(p, c, x) == BatchNormFold.Fold(p, c).Fires(x), $"channel {c} x {x}");
        Assert.False(BatchNormFold.Fold(p, 0).Fires(5));
        Assert.True(BatchNormFold.Fold(p, 1).Fires(5));
        Assert.False(BatchNormFold.Fold(p, 2).Fires(5));
        Assert.True(BatchNormFold.Fold(p, 3).Fires(5));
    }

    [Fact]
    public void UnreachableThresholdsAreClampedNotWrapped()
    {
        var p = new BatchNormParams([1, 1, -1, -1, 1e-300], [0, 0, 0, 0, 1], [1e300, -1e300, 1e300, -1e300, 0], [1, 1, 1, 1, 1], 0);
        Assert.False(BatchNormFold.Fold(p, 0).Fires(int.MaxValue / 2));   // x ≥ +huge: never
        Assert.True(BatchNormFold.Fold(p, 1).Fires(-int.MaxValue / 2));   // x ≥ −huge: always
        Assert.True(BatchNormFold.Fold(p, 2).Fires(int.MaxValue / 2));    // x ≤ +huge: always
        Assert.False(BatchNormFold.Fold(p, 3).Fires(-int.MaxValue / 2));  // x ≤ −huge: never
        Assert.True(BatchNormFold.Fold(p, 4).Fires(-1_000_000));          // tiny scale: sign(β) everywhere
    }
}
