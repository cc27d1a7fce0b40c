using HepBnn.Devices;
using HepBnn.Ops;
using HepBnn.Ops.Cpu;
using HepBnn.Planning;
using Xunit;

namespace HepBnn.Tests.Planning;

/// <summary>The roofline rates each CPU block against the peak of the loop its configuration really runs: the
/// carry-save kernels on their own instruction mix and the block's patch length, the register-blocked routes on theirs.</summary>
public class CpuRooflineTests
{
    [Fact]
    public void EveryCpuConfigurationNamesTheLoopItIsRatedAgainst()
    {
        foreach (var c in ConfigurationRegistry.Cpu.Cast<CpuConfiguration>())
        {
            bool blocked = c.Name.StartsWith("cpu.rb-");
            Assert.True(blocked == (c.KernelName is null), $"{c.Name}: kernel {c.KernelName ?? "none"}");
            int t = c.ThreadsOn(16);
            bool sequential = c.Name is "cpu.scalar" or "cpu.simd256" or "cpu.simd512" || (blocked && c.Name.IndexOf('-', 7) < 0);
            Assert.True(sequential ? t == 1 : t > 1, $"{c.Name} runs on {t} of 16 threads");
            Assert.True(c.ThreadsOn(1) == 1, c.Name);
        }
        Assert.Equal(4, ConfigurationRegistry.Cpu.Cast<CpuConfiguration>().Single(c => c.Name == "cpu.mt-pixels-t4").ThreadsOn(16));
        Assert.Equal("simd256", ConfigurationRegistry.Cpu.Cast<CpuConfiguration>().Single(c => c.Name == "cpu.simd256").KernelName);
    }

    [Theory]
    [InlineData("scalar")]
    [InlineData("simd256")]
    [InlineData("simd512")]
    public void KernelPeakIsAPositiveRateWhereTheKernelRunsAndNaNWhereNot(string kernel)
    {
        using var res = new ExecutionResources(2);
        bool supported = kernel switch { "simd512" => Simd512Kernel.IsSupported, "simd256" => Simd256Kernel.IsSupported, _ => true };
        foreach (int words in new[] { 1, 9, 18, 49 })
        {
            double g = CpuRoofline.KernelPeakGops(kernel, words, 1, res.CpuWorkers, seconds: 0.002);
            if (supported) Assert.True(double.IsFinite(g) && g > 0, $"{kernel} on {words}-word patches: {g}");
            else Assert.True(double.IsNaN(g), $"{kernel} is not supported here but rated {g}");
        }
        Assert.Throws<ArgumentException>(() => CpuRoofline.KernelPeakGops("avx1024", 9, 1, res.CpuWorkers));
    }

    /// <summary>The kernel-scaling rows: several output words (weights at a block's size) and the wall-time aggregate
    /// over 2 threads give positive rates; no output words gives NaN.</summary>
    [Fact]
    public void KernelPeakAtABlocksWeightsAndAsAnAggregateIsARate()
    {
        Assert.SkipUnless(Simd512Kernel.IsSupported, "this CPU lacks AVX-512BW");
        using var res = new ExecutionResources(2);
        foreach (bool aggregate in new[] { false, true })
        {
            double g = CpuRoofline.KernelPeakGops<Simd512Kernel>(18, 2, res.CpuWorkers, seconds: 0.002, outputWords: 4, aggregate: aggregate);
            Assert.True(double.IsFinite(g) && g > 0, $"aggregate {aggregate}: {g}");
        }
        Assert.True(double.IsNaN(CpuRoofline.KernelPeakGops<Simd512Kernel>(18, 1, res.CpuWorkers, seconds: 0.002, outputWords: 0)));
    }

    [Fact]
    public void PatchWordsIsTapsTimesInputWords()
    {
        var blocks = BlockCompiler.Compile(HepBnn.Model.ModelZoo.Vgg7());
        Assert.Equal([18, 18, 36, 36, 72, 128, 16], blocks.Skip(1).Select(CpuRoofline.PatchWords).ToArray());
    }

    /// <summary>The hand-off variants: every variant, round and thread count measured (finite, non-negative times), and
    /// the pool's own settings back afterwards.</summary>
    [Fact]
    public void ForkJoinVariantsMeasureEveryVariantAndRestoreThePool()
    {
        using var pool = new CpuWorkerPool(2) { SlicedFor = false, SpinIterations = 3, PureSpinTicks = 7 };
        var rows = CpuRoofline.ForkJoinVariants(pool, [1, 2], rounds: 2, iterations: 50);
        Assert.Equal(CpuRoofline.Variants.Count * 2 * 2, rows.Count);
        Assert.All(CpuRoofline.Variants, v => Assert.Equal(4, rows.Count(r => r.Variant == v)));
        Assert.All(rows, r => Assert.True(double.IsFinite(r.For.MedianUs) && r.For.MedianUs >= 0 && double.IsFinite(r.RegionUs) && r.RegionUs > 0
            && double.IsFinite(r.BoundaryUs), $"{r.Variant.Name}, round {r.Round}, {r.Threads} threads: For {r.For.MedianUs}, region {r.RegionUs}"));
        Assert.Equal((false, 3, 7L), (pool.SlicedFor, pool.SpinIterations, pool.PureSpinTicks));
    }
}
