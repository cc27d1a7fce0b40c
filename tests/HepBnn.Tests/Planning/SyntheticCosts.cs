using HepBnn.Devices;
using HepBnn.Planning;
namespace HepBnn.Tests.Planning;

/// <summary>Random cost tables with CPU and (synthetic) GPU options, and an independent brute-force evaluator.</summary>
public static class SyntheticCosts
{
    /// <param name="regions">CPU options run on 1, 4, 8 or 16 threads and CPU regions cost a random (not necessarily
    /// monotone) time per thread count.</param>
    public static CostTable Random(int seed, int maxBlocks = 6, bool gpu = true, bool holes = false, bool regions = false)
    {
        var r = new Random(seed);
        int n = r.Next(1, maxBlocks + 1);
        var options = new List<IReadOnlyList<CostOption>>();
        for (int i = 0; i < n; i++)
        {
            var list = new List<CostOption>();
            int cpu = r.Next(1, 4), gpus = gpu ? r.Next(0, 4) : 0;
            for (int j = 0; j < cpu; j++)
                list.Add(new CostOption($"cpu.c{j}", DeviceKind.Cpu, Math.Round(r.NextDouble() * 100, 3), regions ? ThreadCounts[r.Next(4)] : 0));
            for (int j = 0; j < gpus; j++) list.Add(new CostOption($"gpu.g{j}", DeviceKind.Gpu, Math.Round(r.NextDouble() * 30, 3)));
            options.Add(list);
        }
        var moves = new List<IReadOnlyDictionary<(DeviceKind, DeviceKind), double>>();
        for (int b = 0; b <= n; b++)
        {
            var m = new Dictionary<(DeviceKind, DeviceKind), double>();
            // holes: some boundaries cannot be crossed in one direction, which the optimizer must respect.
            if (!holes || r.Next(4) != 0) m[(DeviceKind.Cpu, DeviceKind.Gpu)] = Math.Round(r.NextDouble() * 40, 3);
            if (!holes || r.Next(4) != 0) m[(DeviceKind.Gpu, DeviceKind.Cpu)] = Math.Round(r.NextDouble() * 40, 3);
            moves.Add(m);
        }
        var regionCosts = regions ? ThreadCounts.Where(_ => r.Next(5) != 0).Select(t => (t, Math.Round(r.NextDouble() * 30, 3))).ToList() : null;
        return new CostTable(options, moves, Math.Round(r.NextDouble() * 10, 3), regions: regionCosts);
    }

    static readonly int[] ThreadCounts = [1, 4, 8, 16];

    /// <summary>A CPU region's cost for its widest block, written independently of <see cref="CostTable.RegionUs"/>: the
    /// measured count at or above it (the largest measured where none is), never below a narrower measured count's.</summary>
    static double Region(CostTable t, int threads)
    {
        if (threads == 0 || t.Regions.Count == 0) return 0;
        var at = t.Regions.Where(r => r.Threads >= threads).Select(r => r.Threads).DefaultIfEmpty(t.Regions.Max(r => r.Threads)).Min();
        return t.Regions.Where(r => r.Threads <= at).Max(r => r.Us);
    }

    /// <summary>Every assignment and its cost, computed here independently of <see cref="CostTable.Cost(IReadOnlyList{int})"/>.
    /// With <paramref name="ranges"/> (fused GPU ranges), each maximal run of blocks on the range option costs its
    /// range's own time, or is impossible where that range was not measured or <paramref name="allow"/> refuses it.</summary>
    public static List<(int[] Choice, double Cost)> Enumerate(CostTable t, Func<CostOption, bool>? allow = null, IReadOnlyList<RangeOption>? ranges = null)
    {
        var all = new List<(int[], double)>();
        var choice = new int[t.BlockCount];
        void Walk(int i)
        {
            if (i == t.BlockCount)
            {
                double cost = t.FixedUs;
                var where = DeviceKind.Cpu;
                int widest = 0; // threads of the current run of CPU blocks: one region, priced when it ends
                for (int k = 0; k < t.BlockCount; k++)
                {
                    var o = t.Options[k][choice[k]];
                    if (o.Device == DeviceKind.Cpu) widest = Math.Max(widest, Math.Max(1, o.Threads));
                    else { cost += Region(t, widest); widest = 0; }
                    int end = k;
                    double time = o.TimeUs;
                    if (o.Configuration == RangeOption.Configuration)
                    {
                        while (end + 1 < t.BlockCount && t.Options[end + 1][choice[end + 1]].Configuration == RangeOption.Configuration) end++;
                        var r = ranges?.FirstOrDefault(x => x.First == k && x.Last == end);
                        time = r is null || (allow is not null && !allow(r.AsOption)) ? double.PositiveInfinity : r.TimeUs;
                    }
                    cost += Move(t, k, where, o.Device) + time;
                    where = o.Device;
                    k = end;
                }
                cost += Move(t, t.BlockCount, where, DeviceKind.Cpu) + Region(t, widest);
                if (double.IsFinite(cost)) all.Add(((int[])choice.Clone(), cost));
                return;
            }
            for (int j = 0; j < t.Options[i].Count; j++)
            {
                var o = t.Options[i][j];
                if (allow is not null && o.Configuration != RangeOption.Configuration && !allow(o)) continue;
                choice[i] = j;
                Walk(i + 1);
            }
        }
        Walk(0);
        return all;
    }

    static double Move(CostTable t, int boundary, DeviceKind from, DeviceKind to) => from == to ? 0 : t.Move(boundary, from, to);
}
