using HepBnn.Model;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Ops;

/// <summary>Degenerate BatchNorm statistics, unreachable thresholds and awkward channel counts, in every CPU
/// configuration, bit-exact against the reference (which uses the float model's own decision, not the folding).</summary>
public class NumericalEdgeCaseTests
{
    /// <summary>Image layer (with and without normalization), a binary conv with pooling before BN, and dense layers.</summary>
    static BnnModel Base(int seed, bool normalize, int k = 70) => new ModelBuilder(new Shape3(6, 5, 2), seed) { NegativeGammaFraction = 0.3 }
        .InputConv(k, normalize: normalize).BnSign().Conv(k).Pool().BnSign().Flatten().Dense(k).BnSign().Dense(5).Build($"edge-{k}");

    /// <summary>Per channel, one of the degenerate cases (c mod 10), keeping the other parameters as built.</summary>
    static BatchNormParams Degenerate(BatchNormParams p)
    {
        int n = p.Channels;
        double[] g = (double[])p.Gamma.Clone(), b = (double[])p.Beta.Clone(), m = (double[])p.Mean.Clone(), v = (double[])p.Variance.Clone();
        for (int c = 0; c < n; c++)
            switch (c % 10)
            {
                case 0: g[c] = 0; b[c] = Math.Abs(b[c]); break;          // γ = 0, β ≥ 0: always +1
                case 1: g[c] = 0; b[c] = 0; break;                       // γ = 0, β = 0: sign(0) = +1
                case 2: g[c] = 0; b[c] = -Math.Abs(b[c]) - 0.1; break;   // γ = 0, β < 0: always −1
                case 3: g[c] = -Math.Abs(g[c]); break;                   // negative γ: x ≤ T
                case 4: v[c] = 0; break;                                 // var = 0, ε > 0: huge scale
                case 5: g[c] = 0; v[c] = 0; b[c] = -1; break;            // γ = 0 and var = 0 (ε = 0 too in VarPlusEpsilonZero…)
                case 6: m[c] = 1e12; break;                              // threshold above every reachable sum
                case 7: m[c] = -1e12; g[c] = -Math.Abs(g[c]); break;     // below every reachable sum, negative scale
                case 8: b[c] = 1e15 * (c % 2 == 0 ? 1 : -1); break;      // |β/s| beyond the int range: clamped
                case 9:                                                  // huge scale, integer mean: the decision at x = μ is sign(β)
                    g[c] = 1e20 * (c % 4 < 2 ? 1 : -1); b[c] = c % 3 == 0 ? 1e-7 : -1e-7; m[c] = 2 + c % 2; break;
            }
        return new BatchNormParams(g, b, m, v, p.Epsilon);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(2, true)]
    public void DegenerateBatchNormMatchesReference(int seed, bool normalize)
    {
        var model = CpuChecks.WithBatchNorm(Base(seed, normalize), (_, p) => Degenerate(p));
        CpuChecks.AllConfigurations(model, batch: 2, seed);
    }

    [Fact]
    public void VarPlusEpsilonZeroWithGammaZeroIsConstant()
    {
        // ε = 0 and var = 0: the scale is 0/0; with γ = 0 the layer outputs sign(β).
        var model = CpuChecks.WithBatchNorm(Base(3, false), (_, p) =>
        {
            var d = Degenerate(p);
            var v = d.Variance.Select((x, c) => c % 2 == 0 ? 0.0 : x == 0 ? 1 : x).ToArray();
            var g = d.Gamma.Select((x, c) => c % 2 == 0 ? 0.0 : x).ToArray();
            return d with { Variance = v, Gamma = g, Epsilon = 0 };
        });
        CpuChecks.AllConfigurations(model, batch: 1, seed: 3);
    }

    [Fact]
    public void VarPlusEpsilonZeroWithNonZeroGammaIsRejected()
    {
        var e = Assert.Throws<HepBnnException>(() => CpuChecks.WithBatchNorm(Base(4, false), (layer, p) =>
            layer == 1 ? p with { Variance = p.Variance.Select(_ => 0.0).ToArray(), Epsilon = 0 } : p));
        Assert.Contains("layer 1", e.Message);
        Assert.Contains("variance + epsilon = 0", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(65)]
    [InlineData(127)]
    [InlineData(129)]
    public void ChannelCountsAroundWordBoundaries(int k)
    {
        CpuChecks.AllConfigurations(Base(k, normalize: k % 2 == 1, k), batch: 2, seed: k);
    }

    [Fact]
    public void OneByOneImage() =>
        CpuChecks.AllConfigurations(new ModelBuilder(new Shape3(1, 1, 1), 5).InputConv(9).BnSign().Conv(65).BnSign().Flatten().Dense(3).Build("1x1"), batch: 3, seed: 5);

    [Fact]
    public void KernelLargerThanTheInputWithPadding() =>
        CpuChecks.AllConfigurations(new ModelBuilder(new Shape3(3, 2, 2), 6).InputConv(10, 5, 1, 2, normalize: true).BnSign()
            .Conv(20, 7, 2, 3).BnSign().Flatten().Dense(4).Build("big-kernel"), batch: 2, seed: 6);

    [Fact]
    public void StrideLargerThanTheKernel() =>
        CpuChecks.AllConfigurations(new ModelBuilder(new Shape3(11, 10, 3), 7).InputConv(12, 1, 4, 0, normalize: true).BnSign()
            .Conv(66, 2, 3, 1).BnSign().Flatten().Dense(4).Build("stride"), batch: 2, seed: 7);
}
