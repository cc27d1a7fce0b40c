using HepBnn.Ops.Gpu;

namespace HepBnn.Tests.Gpu;

/// <summary>The folded threshold test of gpu.tensor-core-wide-2m-r128-fold against the reference's P ∈ [Lo, Lo + Span],
/// exhaustively over every row popcount and every reachable AND count, for random channel weights and every range form
/// the thresholds give (P ≥ L, P ≤ U, all, none) at both ends of the count; plus the ranges it refuses.</summary>
public class GpuWideFoldThresholdsTests
{
    [Theory]
    [InlineData(1, 11)]
    [InlineData(2, 12)]
    [InlineData(3, 13)]
    public void FoldedTestEqualsTheRangeTest(int words, int seed)
    {
        var r = new Random(seed);
        long maxP = 64L * words;
        // Channel ch: one class per range below; the channel's direction is that of its non-constant ranges.
        var ranges = new List<(long Lo, long Hi)>();
        for (long l = 1; l <= maxP + 1; l += 1 + r.Next(3)) ranges.Add((l, maxP));          // P ≥ L (L = maxP + 1: none)
        for (long u = 0; u < maxP; u += 1 + r.Next(3)) ranges.Add((0, u));                   // P ≤ U
        ranges.Add((0, maxP));                                                               // all
        ranges.Add((maxP + 1, maxP + 1));                                                    // none (CpuBlockData's empty range)
        int k = ranges.Count, paddedK = (k + 63) & ~63;
        var lo = new ulong[paddedK];
        var span = new ulong[paddedK];
        var popW = new int[k];
        for (int ch = 0; ch < k; ch++)
        {
            lo[ch] = (ulong)ranges[ch].Lo;
            span[ch] = (ulong)(ranges[ch].Hi - ranges[ch].Lo);
            popW[ch] = r.Next(0, (int)maxP + 1);
        }
        var (start, complement) = GpuWideFoldThresholds.Build(lo, span, popW, k, paddedK, 1, maxP, "test");
        for (int ch = 0; ch < k; ch++)
            for (int pop = 0; pop <= maxP; pop++)
                for (int x = Math.Max(0, pop + popW[ch] - (int)maxP); x <= Math.Min(pop, popW[ch]); x++) // reachable AND counts
                {
                    long p = pop + popW[ch] - 2 * x;
                    bool expect = p >= ranges[ch].Lo && p <= ranges[ch].Hi;
                    int d = (complement[ch] ? pop - x : x) + start[(pop & 1) * paddedK + ch];
                    bool got = d <= pop >> 1; // the kernel's compare (Wide2MFoldEpilogue.Bits)
                    Assert.True(expect == got, $"seed {seed}, words {words}: channel {ch} range [{ranges[ch].Lo}, {ranges[ch].Hi}], popc(w) {popW[ch]}, pop {pop}, x {x}: folded {got}, reference {expect}");
                }
        for (int ch = k; ch < paddedK; ch++) // padding channels never fire
            Assert.Equal(GpuWideFoldThresholds.Far, start[ch]);
        Assert.Contains(true, complement);
        Assert.Contains(false, complement[..k]);
    }

    [Fact]
    public void RefusesRangesBoundedOnBothSides()
    {
        var e = Assert.Throws<HepBnnException>(() => GpuWideFoldThresholds.Build([5, 0], [10, 0], [3], 1, 2, 1, 64, "conv9"));
        Assert.Contains("conv9", e.Message);
        Assert.Contains("both sides", e.Message);
    }

    [Fact]
    public void RefusesAChannelFiringBelowInOneClassAndAboveInAnother()
    {
        // Class 0: P ≥ 10; class 1: P ≤ 20 (maxP 64).
        var e = Assert.Throws<HepBnnException>(() => GpuWideFoldThresholds.Build([10, 0], [54, 20], [3], 1, 1, 2, 64, "conv9"));
        Assert.Contains("conv9", e.Message);
        Assert.Contains("channel 0", e.Message);
    }

    [Fact]
    public void ComplementsOnlyThePatchWordsOfTheChosenChannels()
    {
        ulong[] w = [1, 2, 3, 4, 5, 6];
        var got = GpuWideFoldThresholds.Weights(w, [false, true, false], 3, 2);
        Assert.Equal(new ulong[] { 1, 2, ~3UL, ~4UL, 5, 6 }, got);
        Assert.Equal(new ulong[] { 1, 2, 3, 4, 5, 6 }, w);
    }
}
