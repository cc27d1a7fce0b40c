using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Planning;

/// <summary>One block in one configuration, timed in isolation on its own device (data already there). For GPU configurations
/// also <paramref name="WithTransfers"/>: input host→device, kernel, output device→host, synchronized.</summary>
public sealed record BlockTiming(int Block, string BlockName, string Configuration, DeviceKind Device, TimingStats Kernel,
    TimingStats? WithTransfers = null);

/// <summary>Times every block of a model in every applicable configuration of the chosen devices.</summary>
public static class BlockBenchmark
{
    public static IEnumerable<BlockTiming> Run(BnnModel model, int batch, ExecutionResources res, Func<IKernelConfiguration, bool> include,
        int seed = 1, double budgetMs = 200, Action<string>? progress = null)
    {
        var blocks = BlockCompiler.Compile(model);
        var rng = new Random(seed);
        foreach (var block in blocks)
            foreach (var config in ConfigurationRegistry.For(block).Where(include))
            {
                if (!res.Has(config.Device)) continue;
                progress?.Invoke($"{block.Name} / {config.Name}");
                using var runner = config.Prepare(block, batch, res);
                using var input = res.Allocate(config.Device, block.InputBufferWords(batch));
                using var output = res.Allocate(config.Device, block.OutputBufferWords(batch));
                var host = new HostBuffer(block.InputBufferWords(batch));
                for (int i = 0; i < host.Data.Length; i++) host.Data[i] = (ulong)rng.NextInt64();
                MaskTails(block, host, batch);
                res.Copy(host, input, host.Words);
                var stats = TimingStats.Measure(() => { runner.Run(input, output, batch); res.Synchronize(config.Device); }, budgetMs: budgetMs);
                TimingStats? transfers = null;
                if (config.Device != DeviceKind.Cpu)
                {
                    var hostOut = new HostBuffer(block.OutputBufferWords(batch));
                    long inWords = block.InputBufferWords(batch), outWords = block.OutputBufferWords(batch);
                    transfers = TimingStats.Measure(() =>
                    {
                        res.Copy(host, input, inWords);
                        runner.Run(input, output, batch);
                        res.Copy(output, hostOut, outWords);
                        res.Synchronize(config.Device);
                    }, budgetMs: budgetMs);
                }
                yield return new BlockTiming(block.Index, block.Name, config.Name, config.Device, stats, transfers);
            }
    }

    /// <summary>Random bits must respect the invariant that channel padding bits are zero.</summary>
    internal static void MaskTails(Block block, HostBuffer host, int batch)
    {
        if (block.Input != BlockInput.Bits || block.InputShape.C % 64 == 0) return;
        int cw = block.InputWords;
        ulong keep = ~0UL >> (64 - (block.InputShape.C & 63));
        for (long p = 0; p < batch * (long)block.InputShape.Pixels; p++) host.Data[p * cw + cw - 1] &= keep;
    }
}
