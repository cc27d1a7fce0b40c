using System.Diagnostics;
using HepBnn.Devices;
using HepBnn.Formats;
using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Bench;

/// <summary>`blocks MODEL BATCH CONFIG[,CONFIG…]`: µs per image of every block of a model in each CPU configuration,
/// median and minimum of short repeated runs (each a few ms, so that on a shared machine most run within one
/// scheduler slice), plus a hash of the outputs (identical across configurations and builds = same bits). For
/// before/after tables (scripts/cpu-eval-compare.sh); not a BenchmarkDotNet run.</summary>
public static class BlockTimes
{
    public static int Run(string[] args)
    {
        var model = ModelZoo.TryGet(args[0], 1) ?? ModelLoader.Load(args[0]);
        int batch = int.Parse(args[1]);
        var configs = args[2].Split(',');
        double seconds = args.Length > 3 ? double.Parse(args[3]) : 0.3;
        using var res = new ExecutionResources(gpu: GpuSelection.None);
        var rng = new Random(1);
        Console.WriteLine($"{model.Name}, batch {batch}, {Environment.ProcessorCount} cores, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine($"{"block",-8} {"configuration",-18} {"median µs/img",14} {"min µs/img",11}  output hash");
        double total = 0;
        foreach (var b in BlockCompiler.Compile(model))
        {
            long inWords = batch * Math.Max(b.InputShape.PackedWords, b.InputShape.Elements / 8 + 1);
            long outWords = batch * Math.Max(b.OutputShape.PackedWords, b.OutputShape.Elements / 2 + 1);
            var input = new HostBuffer(inWords);
            var output = new HostBuffer(outWords);
            for (long i = 0; i < inWords; i++) input.Data[i] = (ulong)rng.NextInt64();
            foreach (var name in configs)
            {
                var config = ConfigurationRegistry.Find(name);
                if (!config.Supports(b)) { Console.WriteLine($"{b.Name,-8} {name,-18} unsupported"); continue; }
                using var runner = config.Prepare(b, batch, res);
                for (int i = 0; i < 3; i++) runner.Run(input, output, batch);
                var us = new List<double>();
                var clock = Stopwatch.StartNew();
                while (us.Count < 5 || clock.Elapsed.TotalSeconds < seconds)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    runner.Run(input, output, batch);
                    us.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / batch);
                }
                us.Sort();
                ulong hash = 0;
                foreach (var w in output.Data) hash = hash * 31 + w;
                if (name == configs[0]) total += us[us.Count / 2];
                Console.WriteLine($"{b.Name,-8} {name,-18} {us[us.Count / 2],14:F1} {us[0],11:F1}  {hash:X16}");
            }
        }
        Console.WriteLine($"sum of medians ({configs[0]}): {total:F1} µs/img");
        return 0;
    }
}
