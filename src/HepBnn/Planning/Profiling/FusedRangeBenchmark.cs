using HepBnn.Devices;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;

namespace HepBnn.Planning;

/// <summary>
/// Times fused GPU ranges (gpu.fused on blocks First..Last) as a whole, input and output on the GPU, exactly as blocks are
/// timed (<see cref="BlockBenchmark.MeasureRunner"/>: a node of a captured chain where graphs are on). A range's cost is
/// not a sum of per-block costs (one launch, grid barriers instead of kernel boundaries), so every range is measured:
/// n(n+1)/2 of them, which for the zoo's networks (≤ 9 blocks) is at most 45. A range far slower than its blocks' best
/// per-block GPU times together is abandoned after one or two samples.
/// </summary>
public static class FusedRangeBenchmark
{
    /// <summary>True when the profile measures fused ranges: a GPU is open and <paramref name="include"/> takes gpu.fused.</summary>
    public static bool Applies(ExecutionResources res, Func<IKernelConfiguration, bool> include) =>
        include(ConfigurationRegistry.Find(GpuFused.ConfigurationName)) && res.TryOpen(DeviceKind.Gpu);

    public static int Count(int blocks) => blocks * (blocks + 1) / 2;

    public static IEnumerable<FusedRangeTiming> Run(IReadOnlyList<Block> blocks, int batch, ExecutionResources res, BenchmarkPolicy policy,
        IReadOnlyList<BlockTiming> perBlock, int seed = 1, Action<string>? progress = null)
    {
        var fused = (GpuFused)ConfigurationRegistry.Find(GpuFused.ConfigurationName);
        var rng = new Random(seed);
        double Best(int b) => perBlock.Where(t => t.Block == b && t.Device == DeviceKind.Gpu && !t.Pruned)
            .Select(t => t.Kernel.MedianUs).DefaultIfEmpty(double.PositiveInfinity).Min();
        for (int first = 0; first < blocks.Count; first++)
        {
            if (!fused.Supports(blocks[first])) continue;
            var input = res.Allocate(DeviceKind.Gpu, blocks[first].InputBufferWords(batch));
            try
            {
                var host = new HostBuffer(blocks[first].InputBufferWords(batch));
                for (int i = 0; i < host.Data.Length; i++) host.Data[i] = (ulong)rng.NextInt64();
                BlockBenchmark.MaskTails(blocks[first], host, batch);
                res.Copy(host, input, host.Words);
                res.Synchronize(DeviceKind.Gpu);
                double sum = 0;
                for (int last = first; last < blocks.Count && fused.Supports(blocks[last]); last++)
                {
                    sum += Best(last);
                    progress?.Invoke($"{blocks[first].Name}..{blocks[last].Name} / {GpuFused.ConfigurationName}");
                    using var runner = fused.PrepareRange([.. blocks.Skip(first).Take(last - first + 1)], batch, res);
                    using var output = res.Allocate(DeviceKind.Gpu, blocks[last].OutputBufferWords(batch));
                    var (stats, pruned) = BlockBenchmark.MeasureRunner(runner, input, output, batch, DeviceKind.Gpu, res, policy, sum * policy.PruneFactor);
                    yield return new FusedRangeTiming(first, last, stats.MedianUs, stats.P10Us, stats.P90Us, stats.Samples, pruned);
                }
            }
            finally { input.Dispose(); }
        }
    }
}
