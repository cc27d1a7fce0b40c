using HepBnn.Devices;
using HepBnn.Formats;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;

namespace HepBnn.Bench;

/// <summary>`plans MODEL BATCH SECONDS PLAN [PLAN…]` (a plan = comma-separated configurations, one per block, or one
/// for all): whole plans measured interleaved through <see cref="PlanBenchmark"/> (the verdict's own loop, one shared
/// worker pool), median / p10 / p90 µs per batch. For experiments on how consecutive blocks interact in a plan.</summary>
public static class PlanTimes
{
    public static int Run(string[] args)
    {
        var model = ModelZoo.TryGet(args[0], 1) ?? ModelLoader.Load(args[0]);
        int batch = int.Parse(args[1]);
        double seconds = double.Parse(args[2]);
        var blocks = BlockCompiler.Compile(model);
        var plans = args[3..].Select(p => p.Split(',')).Select(p => (IReadOnlyList<string>)(p.Length == 1 ? Enumerable.Repeat(p[0], blocks.Count).ToArray() : p)).ToList();
        using var res = new ExecutionResources(gpu: GpuSelection.None);
        var images = new byte[batch * model.InputShape.Elements];
        new Random(1).NextBytes(images);
        Console.WriteLine($"{model.Name}, batch {batch}, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        var samples = PlanBenchmark.Samples(model, blocks, plans, batch, res, images, seconds * 1000, minRounds: 20);
        for (int p = 0; p < plans.Count; p++)
        {
            var s = samples[p].Order().ToArray();
            Console.WriteLine($"{s[s.Length / 2],9:F1} µs  (p10 {s[s.Length / 10],8:F1}, p90 {s[s.Length * 9 / 10],8:F1}, {s.Length} runs)  {string.Join(" ", plans[p])}");
        }
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        return 0;
    }
}
