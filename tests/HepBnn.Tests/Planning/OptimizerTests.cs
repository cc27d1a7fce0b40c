using HepBnn.Devices;
using HepBnn.Planning;
namespace HepBnn.Tests.Planning;

/// <summary>The dynamic program against brute-force enumeration on synthetic cost tables (CPU and GPU options, no hardware).</summary>
public class OptimizerTests
{
    [Fact]
    public void BestEqualsBruteForceOnRandomTables()
    {
        for (int seed = 1; seed <= 400; seed++)
        {
            var t = SyntheticCosts.Random(seed, holes: seed % 3 == 0);
            var all = SyntheticCosts.Enumerate(t);
            var best = PlanOptimizer.Best(t);
            if (all.Count == 0) { Assert.True(best is null, $"seed {seed}: no feasible mapping exists but the optimizer returned one"); continue; }
            Assert.True(best is not null, $"seed {seed}: optimizer found nothing");
            double min = all.Min(a => a.Cost);
            Assert.True(Math.Abs(best!.PredictedUs - min) < 1e-9, $"seed {seed}: DP {best.PredictedUs} vs brute force {min}");
            Assert.True(Math.Abs(t.Cost(best.Choice) - min) < 1e-9, $"seed {seed}: reported cost disagrees with the table's cost of the choice");
        }
    }

    [Fact]
    public void KBestEqualsBruteForceTopK()
    {
        for (int seed = 1; seed <= 300; seed++)
        {
            var t = SyntheticCosts.Random(seed, maxBlocks: 5, holes: seed % 4 == 0);
            int k = 1 + seed % 7;
            var expected = SyntheticCosts.Enumerate(t).Select(a => a.Cost).Order().Take(k).ToList();
            var actual = PlanOptimizer.KBest(t, k);
            Assert.True(expected.Count == actual.Count, $"seed {seed}, k {k}: {actual.Count} plans, brute force has {expected.Count}");
            for (int i = 0; i < k && i < expected.Count; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i].PredictedUs) < 1e-9, $"seed {seed}, k {k}: rank {i + 1} costs {actual[i].PredictedUs}, brute force {expected[i]}");
                Assert.True(Math.Abs(t.Cost(actual[i].Choice) - actual[i].PredictedUs) < 1e-9, $"seed {seed}: rank {i + 1} cost does not match its choice");
            }
            for (int i = 0; i < actual.Count; i++)
                for (int j = i + 1; j < actual.Count; j++)
                    Assert.False(actual[i].SameAs(actual[j]), $"seed {seed}: ranks {i + 1} and {j + 1} are the same mapping");
        }
    }

    /// <summary>CPU regions: a run of CPU blocks pays its region's hand-off once, for its widest block (the brute force
    /// prices each run as a whole; the optimizer and <see cref="CostTable.Cost(IReadOnlyList{int})"/> incrementally).</summary>
    [Fact]
    public void KBestEqualsBruteForceWithCpuRegions()
    {
        for (int seed = 1; seed <= 300; seed++)
        {
            var t = SyntheticCosts.Random(seed, maxBlocks: 5, holes: seed % 4 == 0, regions: true);
            int k = 1 + seed % 5;
            var expected = SyntheticCosts.Enumerate(t).Select(a => a.Cost).Order().Take(k).ToList();
            var actual = PlanOptimizer.KBest(t, k);
            Assert.True(expected.Count == actual.Count, $"seed {seed}, k {k}: {actual.Count} plans, brute force has {expected.Count}");
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i].PredictedUs) < 1e-9, $"seed {seed}, k {k}: rank {i + 1} costs {actual[i].PredictedUs}, brute force {expected[i]}");
                Assert.True(Math.Abs(t.Cost(actual[i].Choice) - actual[i].PredictedUs) < 1e-9, $"seed {seed}: rank {i + 1} cost does not match its choice");
            }
        }
    }

    /// <summary>The region cost is what decides here: two cheap 16-thread blocks lose to slightly slower 4-thread ones once a
    /// 16-thread region's hand-off is priced, and win without it.</summary>
    [Fact]
    public void RegionHandOffCanDecideTheThreadCount()
    {
        var none = new Dictionary<(DeviceKind, DeviceKind), double>();
        IReadOnlyList<CostOption> Block() => [new("cpu.wide", DeviceKind.Cpu, 2, 16), new("cpu.narrow", DeviceKind.Cpu, 3, 4)];
        var moves = new[] { none, none, none };
        var priced = new CostTable([Block(), Block()], moves, regions: [(4, 3), (16, 6)]);
        Assert.Equal(["cpu.narrow", "cpu.narrow"], PlanOptimizer.Best(priced)!.Configurations);
        Assert.Equal(3 + 3 + 3, PlanOptimizer.Best(priced)!.PredictedUs, 9);
        Assert.Equal(2 + 3 + 6, priced.Cost(["cpu.wide", "cpu.narrow"]), 9); // widened to 16 by its first block: one 16-thread region
        var unpriced = new CostTable([Block(), Block()], moves);
        Assert.Equal(["cpu.wide", "cpu.wide"], PlanOptimizer.Best(unpriced)!.Configurations);
        Assert.Throws<HepBnnException>(() => new CostTable([Block()], [none, none], regions: [(0, 1)]));
        Assert.Throws<HepBnnException>(() => new CostTable([Block()], [none, none], regions: [(4, double.NaN)]));
    }

    [Theory]
    [InlineData(DeviceKind.Cpu)]
    [InlineData(DeviceKind.Gpu)]
    public void RestrictedToOneDeviceEqualsBruteForce(DeviceKind device)
    {
        for (int seed = 1; seed <= 200; seed++)
        {
            var t = SyntheticCosts.Random(seed);
            bool Allow(CostOption o) => o.Device == device;
            var all = SyntheticCosts.Enumerate(t, Allow);
            var best = PlanOptimizer.Best(t, Allow);
            if (all.Count == 0) { Assert.Null(best); continue; }
            Assert.True(best is not null && Math.Abs(best.PredictedUs - all.Min(a => a.Cost)) < 1e-9, $"seed {seed}: restricted DP differs from brute force");
            Assert.All(best!.Options, o => Assert.Equal(device, o.Device));
        }
    }

    [Fact]
    public void TransfersDecideTheDevice()
    {
        // A GPU option 10 µs faster per block loses when moving data costs more than it saves.
        CostTable Table(double move) => new(
            [[new("cpu.a", DeviceKind.Cpu, 50), new("gpu.a", DeviceKind.Gpu, 40)], [new("cpu.a", DeviceKind.Cpu, 50), new("gpu.a", DeviceKind.Gpu, 40)]],
            Enumerable.Range(0, 3).Select(_ => (IReadOnlyDictionary<(DeviceKind, DeviceKind), double>)new Dictionary<(DeviceKind, DeviceKind), double>
                { [(DeviceKind.Cpu, DeviceKind.Gpu)] = move, [(DeviceKind.Gpu, DeviceKind.Cpu)] = move }).ToList());
        Assert.Equal(["gpu.a", "gpu.a"], PlanOptimizer.Best(Table(5))!.Configurations);
        Assert.Equal(5 + 40 + 40 + 5, PlanOptimizer.Best(Table(5))!.PredictedUs, 9);
        Assert.Equal(["cpu.a", "cpu.a"], PlanOptimizer.Best(Table(20))!.Configurations);
        Assert.Equal(100, PlanOptimizer.Best(Table(20))!.PredictedUs, 9);
    }

    [Fact]
    public void RejectsBadInput()
    {
        Assert.Throws<HepBnnException>(() => PlanOptimizer.KBest(SyntheticCosts.Random(1), 0));
        Assert.Throws<HepBnnException>(() => new CostTable([], [new Dictionary<(DeviceKind, DeviceKind), double>()]));
        Assert.Throws<HepBnnException>(() => new CostTable([[new("cpu.a", DeviceKind.Cpu, double.NaN)]], [new Dictionary<(DeviceKind, DeviceKind), double>(), new Dictionary<(DeviceKind, DeviceKind), double>()]));
        Assert.Throws<HepBnnException>(() => new CostTable([[new("cpu.a", DeviceKind.Cpu, 1)]], [new Dictionary<(DeviceKind, DeviceKind), double>()]));
    }
}
