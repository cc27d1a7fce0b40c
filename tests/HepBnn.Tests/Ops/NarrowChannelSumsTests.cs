using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Cpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Ops;

/// <summary>The AVX-512 kernel's 32-bit filter for per-channel divisors (<see cref="NarrowChannelSums"/>): wherever it
/// decides, it decides as the exact 64-bit test P ∈ [WideLo, WideHi]; it leaves undecided only P within its bound E of
/// a threshold; and the kernels stay bit-exact with every word sent through the exact path.</summary>
public class NarrowChannelSumsTests
{
    /// <summary>Random multipliers (1–4 channels, up to 2^K with the compiler's K ≤ 52), kernels of 1–25 taps, thresholds anywhere (also the
    /// sentinels for always / never and empty ranges) and sums S_c within ±255·taps, many of them placed so that P lands
    /// within a few units of a threshold.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void DecidesAsTheExactTest(int seed)
    {
        var r = new Random(seed);
        for (int round = 0; round < 40; round++)
        {
            int channels = r.Next(1, 5), taps = r.Next(1, 26), k = 64 * r.Next(1, 3), classes = r.Next(1, 4);
            int bitsK = r.Next(24, BlockCompiler.ChannelSumBits(channels, taps, 1) + 1); // as the compiler bounds K: |P| < 2^61
            var q = Enumerable.Range(0, channels).Select(_ => Math.Max(1, (long)(r.NextDouble() * (1L << bitsK)))).ToArray();
            q[r.Next(channels)] = 1L << bitsK;
            long maxSum = 255L * taps, pMax = q.Sum() * maxSum;
            var lo = new long[classes * k];
            var hi = new long[classes * k];
            for (int i = 0; i < lo.Length; i++)
            {
                long t = (long)((r.NextDouble() * 2 - 1) * pMax);
                (lo[i], hi[i]) = r.Next(8) switch
                {
                    0 => (long.MinValue, long.MaxValue),
                    1 => (long.MaxValue, long.MinValue),
                    2 => (long.MinValue, t),
                    3 => (t, t + (long)(r.NextDouble() * pMax)),
                    _ => (t, long.MaxValue),
                };
            }
            var n = NarrowChannelSums.Create(q, taps, lo, hi, k);
            Assert.NotNull(n);
            var qn = Enumerable.Range(0, channels).Select(c => (long)(short)(n.PairMultipliers[c / 2] >> (16 * (c % 2)))).ToArray();
            Assert.All(qn, v => Assert.InRange(v, 1, short.MaxValue));
            int decided = 0, trials = 0;
            for (int trial = 0; trial <= 100; trial++)
            {
                var s = Enumerable.Range(0, channels).Select(_ => (long)r.Next(-(int)maxSum, (int)maxSum + 1)).ToArray();
                long p = q.Zip(s, (a, b) => a * b).Sum(), pn = qn.Zip(s, (a, b) => a * b).Sum();
                Assert.True(Math.Abs(p - (pn << n.Shift)) <= n.Slack, $"seed {seed} round {round}: |P − 2^s·P'| beyond the bound");
                if (trial == 100) // last: every threshold within a few E of this P
                {
                    for (int i = 0; i < lo.Length; i++)
                    {
                        long near = p + r.Next(-4, 5) * Math.Max(1, n.Slack / 2);
                        (lo[i], hi[i]) = r.Next(2) == 0 ? (near, long.MaxValue) : (long.MinValue, near);
                    }
                    n = NarrowChannelSums.Create(q, taps, lo, hi, k)!;
                }
                for (int idx = 0; idx < lo.Length; idx++)
                {
                    int ch = idx / 64 * 64 + NarrowChannelSums.LaneChannel(idx % 64 / 16, idx % 16);
                    bool exact = p >= lo[ch] && p <= hi[ch];
                    bool sure = (uint)((int)pn - n.InLo[idx]) <= n.InSpan[idx];
                    bool maybe = (uint)((int)pn - n.MaybeLo[idx]) <= n.MaybeSpan[idx];
                    Assert.True(maybe || !sure, $"seed {seed} round {round}: sure without maybe");
                    if (trial < 100) trials++;
                    if (sure == maybe)
                    {
                        if (trial < 100) decided++;
                        Assert.True(sure == exact, $"seed {seed} round {round} trial {trial} channel {ch}: filter says {sure}, exact test {exact} (P {p}, range [{lo[ch]}, {hi[ch]}])");
                    }
                    else
                    {
                        Int128 d = Int128.Min(Int128.Abs((Int128)p - lo[ch]), Int128.Abs((Int128)p - hi[ch]));
                        Assert.True(d <= 2 * (Int128)n.Slack + (1L << n.Shift), $"seed {seed} round {round}: undecided with P {d} from a threshold (bound {n.Slack})");
                    }
                }
            }
            Assert.True(decided > trials * 9 / 10, $"seed {seed} round {round}: only {decided} of {trials} decided");
        }
    }

    [Fact]
    public void RefusesWhatInt32CannotHold()
    {
        long[] lo = new long[64], hi = new long[64];
        Assert.Null(NarrowChannelSums.Create([], 9, lo, hi, 64));
        Assert.Null(NarrowChannelSums.Create([1, 2, 3, 4, 5], 9, lo, hi, 64));
        Assert.Null(NarrowChannelSums.Create([1, 0], 9, lo, hi, 64));
        Assert.Null(NarrowChannelSums.Create([1L << 40], 129, lo, hi, 64)); // int16 sums need ≤ 128 taps
        Assert.NotNull(NarrowChannelSums.Create([1L << 48, 3L << 46, 1L << 47], 9, lo, hi, 64));
    }

    /// <summary>The AVX-512 kernel on VGG7's first block with torchvision's stds (as the shipped model): its filter decides
    /// most words by itself (so the 64-bit test is the exception, not a second pass), and every word equals the exact
    /// test's, in every border class, on random planar patches.</summary>
    [Fact]
    public void Avx512FilterDecidesMostWordsExactly()
    {
        Assert.SkipUnless(Simd512Kernel.IsSupported && System.Runtime.Intrinsics.X86.Bmi2.X64.IsSupported, "this CPU has no AVX-512BW / BMI2");
        var m = new ModelBuilder(new Shape3(8, 8, 3), 5) { NegativeGammaFraction = 0.3 }.InputConv(128).BnSign().Flatten().Dense(10).Build("tv");
        double[] mean = [0.4914, 0.4822, 0.4465], std = [0.2470, 0.2435, 0.2616];
        var layers = m.Layers.ToArray();
        layers[0] = (InputConv2d)layers[0] with { Normalization = InputNormalization.Create(mean.Select(v => 255 * v).ToArray(), std.Select(v => 255 * v).ToArray()) };
        var bn = ((BatchNormSign)layers[1]).Params;
        var rnd = new Random(9);
        layers[1] = new BatchNormSign(bn with { Mean = bn.Mean.Select(_ => rnd.NextDouble() * 6 - 3).ToArray(), Variance = bn.Variance.Select(_ => 4 + rnd.NextDouble()).ToArray() });
        var block = BlockCompiler.Compile(new BnnModel("tv", m.InputShape, layers))[0];
        var d = new CpuBlockData(block, Simd512Kernel.BinaryLanes, Simd512Kernel.ImageLanes);
        Assert.NotNull(d.Narrow);
        var patch = new byte[d.PatchLength];
        int decided = 0, words = 0, classes = d.RowTaps.Length * d.ColClasses;
        for (int trial = 0; trial < 2000; trial++)
        {
            rnd.NextBytes(patch);
            for (int c = 0; c < 3; c++) patch[c * d.ChannelPatchLength + 9] = 0; // the pad byte of each 9-tap plane
            int cls = trial % classes;
            for (int word = 0; word < 2; word++)
            {
                ulong exact = Simd512Kernel.ExactChannelWord(d, ref patch[0], word, cls);
                words++;
                if (Simd512Kernel.TryNarrowChannelWord(d, ref patch[0], word, cls, out ulong bits))
                {
                    decided++;
                    Assert.True(exact == bits, $"trial {trial} word {word} class {cls}: filter {bits:X16}, exact {exact:X16}");
                }
                Assert.Equal(exact, Simd512Kernel.ImageChannelWord(d, ref patch[0], word, cls));
            }
        }
        Assert.True(decided >= words * 9 / 10, $"the filter decided only {decided} of {words} words");
    }

    /// <summary>With the uncertain band made wider than any sum, no word is decided by the filter: the kernels' exact
    /// fallback alone, on the random per-channel layers and VGG7's first block, is still bit-exact.</summary>
    [Fact]
    public void ExactFallbackAloneMatchesReference()
    {
        CpuBlockData.NarrowExtraSlack = 1L << 62;
        try
        {
            var probe = PerChannelNormalizationTests.RandomModelWithChannelSums();
            var narrow = new CpuBlockData(BlockCompiler.Compile(probe)[0], 8, 32).Narrow;
            Assert.NotNull(narrow);
            Assert.True(narrow.Slack >= 1L << 62);
            for (int seed = 41; seed <= 52; seed++)
                CpuChecks.AllConfigurations(PerChannelNormalizationTests.RandomModel(seed), batch: 2, seed);
            CpuChecks.AllConfigurations(probe, batch: 3, seed: 5);
        }
        finally { CpuBlockData.NarrowExtraSlack = 0; }
    }
}
