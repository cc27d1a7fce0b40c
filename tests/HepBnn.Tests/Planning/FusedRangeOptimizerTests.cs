using HepBnn.Devices;
using HepBnn.Planning;
namespace HepBnn.Tests.Planning;

/// <summary>The optimizer with fused GPU ranges (blocks First..Last in one kernel, priced by their own measurement, not
/// per block): against an independent brute force over every assignment, where each maximal run of gpu.fused blocks
/// costs its range's time (or is impossible when that range was not measured).</summary>
public class FusedRangeOptimizerTests
{
    static CostTable WithRanges(int seed, out List<RangeOption> ranges)
    {
        var t = SyntheticCosts.Random(seed, maxBlocks: 5, holes: seed % 5 == 0);
        var r = new Random(seed * 7 + 1);
        ranges = [];
        for (int first = 0; first < t.BlockCount; first++)
            for (int last = first; last < t.BlockCount; last++)
                if (r.Next(3) != 0) ranges.Add(new RangeOption(first, last, Math.Round(r.NextDouble() * 25, 3)));
        var moves = Enumerable.Range(0, t.BlockCount + 1).Select(b => (IReadOnlyDictionary<(DeviceKind, DeviceKind), double>)
            new[] { DeviceKind.Cpu, DeviceKind.Gpu }.SelectMany(f => new[] { DeviceKind.Cpu, DeviceKind.Gpu }.Select(to => (f, to)))
                .Where(m => m.f != m.to && double.IsFinite(t.Move(b, m.f, m.to))).ToDictionary(m => m, m => t.Move(b, m.f, m.to))).ToList();
        return new CostTable(t.Options, moves, t.FixedUs, ranges);
    }

    [Fact]
    public void KBestWithFusedRangesEqualsBruteForce()
    {
        int usedRanges = 0, multiBlock = 0;
        for (int seed = 1; seed <= 300; seed++)
        {
            var t = WithRanges(seed, out var ranges);
            int k = 1 + seed % 6;
            var expected = SyntheticCosts.Enumerate(t, ranges: ranges).Select(a => a.Cost).Order().Take(k).ToList();
            var actual = PlanOptimizer.KBest(t, k);
            Assert.True(expected.Count == actual.Count, $"seed {seed}, k {k}: {actual.Count} plans, brute force has {expected.Count}");
            for (int i = 0; i < actual.Count; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i].PredictedUs) < 1e-9, $"seed {seed}, k {k}: rank {i + 1} costs {actual[i].PredictedUs}, brute force {expected[i]}");
                Assert.True(Math.Abs(t.Cost(actual[i].Choice) - actual[i].PredictedUs) < 1e-9, $"seed {seed}: rank {i + 1} cost does not match its choice");
                for (int j = i + 1; j < actual.Count; j++) Assert.False(actual[i].SameAs(actual[j]), $"seed {seed}: ranks {i + 1} and {j + 1} are the same mapping");
            }
            var units = t.Units(actual[0].Choice).Where(u => u.Option.Configuration == RangeOption.Configuration).ToList();
            usedRanges += units.Count;
            multiBlock += units.Count(u => u.Last > u.First);
        }
        Assert.True(usedRanges >= 30 && multiBlock >= 10, $"the best plans used only {usedRanges} fused ranges ({multiBlock} of several blocks)");
    }

    [Fact]
    public void BaselinesWithoutFusingExcludeRanges()
    {
        for (int seed = 1; seed <= 100; seed++)
        {
            var t = WithRanges(seed, out var ranges);
            Func<CostOption, bool> noFusing = o => o.Configuration != RangeOption.Configuration;
            var best = PlanOptimizer.Best(t, noFusing);
            var expected = SyntheticCosts.Enumerate(t, noFusing, ranges).Select(a => a.Cost).DefaultIfEmpty(double.NaN).Min();
            if (best is null) { Assert.True(double.IsNaN(expected), $"seed {seed}: no plan found, brute force has {expected}"); continue; }
            Assert.DoesNotContain(RangeOption.Configuration, best.Configurations);
            Assert.True(Math.Abs(best.PredictedUs - expected) < 1e-9, $"seed {seed}: {best.PredictedUs} vs brute force {expected}");
        }
    }

    [Fact]
    public void APlanNamesEveryBlockOfARangeAndPricesTheRangeOnce()
    {
        var options = Enumerable.Range(0, 4).Select(_ => (IReadOnlyList<CostOption>)[new CostOption("cpu.c", DeviceKind.Cpu, 50), new CostOption("gpu.g", DeviceKind.Gpu, 10)]).ToList();
        var moves = Enumerable.Range(0, 5).Select(_ => (IReadOnlyDictionary<(DeviceKind, DeviceKind), double>)new Dictionary<(DeviceKind, DeviceKind), double>
            { [(DeviceKind.Cpu, DeviceKind.Gpu)] = 5, [(DeviceKind.Gpu, DeviceKind.Cpu)] = 5 }).ToList();
        var t = new CostTable(options, moves, 1, [new RangeOption(1, 3, 12), new RangeOption(0, 3, 40)]);
        var best = PlanOptimizer.Best(t)!;
        // gpu.g on block 0 (10) then the range 1..3 (12): 1 + 5 + 10 + 12 + 5; the whole-network range costs 1 + 5 + 40 + 5.
        Assert.Equal(["gpu.g", "gpu.fused", "gpu.fused", "gpu.fused"], best.Configurations);
        Assert.Equal(33, best.PredictedUs, 9);
        Assert.Equal([(0, 0), (1, 3)], t.Units(best.Choice).Select(u => (u.First, u.Last)));
    }
}
