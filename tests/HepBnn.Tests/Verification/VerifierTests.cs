using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Reference;
namespace HepBnn.Tests.Verification;

/// <summary>`hepbnn verify`'s engine: it passes correct configurations and catches a wrong one.</summary>
public class VerifierTests
{
    /// <summary>cpu.scalar with one output bit (or score) flipped for blocks with more than one output channel.</summary>
    sealed class OffByOne : IKernelConfiguration
    {
        readonly IKernelConfiguration _inner = ConfigurationRegistry.Find("cpu.scalar");
        public string Name => "test.off-by-one";
        public DeviceKind Device => DeviceKind.Cpu;
        public string Description => "cpu.scalar with one wrong output";
        public bool Supports(Block block) => true;
        public IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources) => new Runner(_inner.Prepare(block, maxBatch, resources), this);

        sealed class Runner(IBlockRunner inner, IKernelConfiguration config) : IBlockRunner
        {
            public Block Block => inner.Block;
            public IKernelConfiguration Configuration => config;
            public void Run(TensorBuffer input, TensorBuffer output, int batch)
            {
                inner.Run(input, output, batch);
                if (Block.Output == BlockOutput.Scores) ((HostBuffer)output).Ints[0]++;
                else ((HostBuffer)output).Data[0] ^= 1;
            }
            public void Dispose() => inner.Dispose();
        }
    }

    [Fact]
    public void PassesCorrectConfigurationsAndCountsMismatchesOfAWrongOne()
    {
        using var res = new ExecutionResources(2, GpuSelection.None);
        var configs = new IKernelConfiguration[] { ConfigurationRegistry.Find("cpu.mt-rows"), new OffByOne() };
        var report = Verifier.Run(res, configs, Verifier.DefaultModels(networks: 4, seed: 50, zoo: false));
        Assert.Equal(8, report.Models);
        var good = report.Results.Single(r => r.Configuration == "cpu.mt-rows");
        var bad = report.Results.Single(r => r.Configuration == "test.off-by-one");
        Assert.Equal(report.Cases, good.BlocksChecked);
        Assert.Equal(0, good.Mismatches);
        Assert.Equal(report.Cases, bad.Mismatches);
        Assert.Contains("expected", bad.FirstMismatch);
        Assert.False(report.Passed);
    }
}
