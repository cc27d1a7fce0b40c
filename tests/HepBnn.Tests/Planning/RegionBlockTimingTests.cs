using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
namespace HepBnn.Tests.Planning;

/// <summary>The profiler's in-region timing of a CPU block (a chain of copies of the block in one CPU segment) runs
/// the real computation: afterwards the output buffer holds exactly what one plain run of the block writes.</summary>
public class RegionBlockTimingTests
{
    [Theory]
    [InlineData("cpu.mt-pixels", 1)]
    [InlineData("cpu.mt-channels-t8", 3)]
    [InlineData("cpu.mt-rows", 2)]
    public void TheTimedChainComputesTheBlock(string configuration, int batch)
    {
        using var res = new ExecutionResources(4, GpuSelection.None);
        var config = ConfigurationRegistry.Find(configuration);
        foreach (var block in BlockCompiler.Compile(ModelZoo.Vgg3(5)))
        {
            if (!config.Supports(block)) continue;
            using var timed = config.Prepare(block, batch, res);
            using var plain = config.Prepare(block, batch, res);
            var input = new HostBuffer(block.InputBufferWords(batch));
            var rng = new Random(block.Index + 1);
            if (block.Input == BlockInput.Image) rng.NextBytes(input.Bytes);
            else for (int i = 0; i < input.Data.Length; i++) input.Data[i] = (ulong)rng.NextInt64();
            BlockBenchmark.MaskTails(block, input, batch);
            var expected = new HostBuffer(block.OutputBufferWords(batch));
            var actual = new HostBuffer(block.OutputBufferWords(batch));
            plain.Run(input, expected, batch);
            var (stats, _) = BlockBenchmark.MeasureInRegion((HepBnn.Ops.Cpu.ICpuRegionWork)timed, input, actual, batch, res,
                new BenchmarkPolicy(BudgetMs: 2, MinSamples: 3), double.PositiveInfinity);
            Assert.True(stats.MedianUs > 0 && double.IsFinite(stats.MedianUs), $"{configuration}, {block.Name}: median {stats.MedianUs}");
            Assert.True(expected.Data.AsSpan().SequenceEqual(actual.Data), $"{configuration}, {block.Name}, batch {batch}: the timed chain wrote other bits than a plain run");
        }
    }
}
