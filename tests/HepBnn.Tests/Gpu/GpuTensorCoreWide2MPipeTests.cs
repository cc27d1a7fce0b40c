using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.tensor-core-wide-2m-r128-pipe on ILGPU's CPU accelerator (the copies emulated as plain loads and stores,
/// the MMAs by their emulation): the band kernel's shapes, each group running a run of about three row tiles through
/// both band buffers (and a shorter last run), bit for bit against the reference.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreWide2MPipeTests(CpuAcceleratorFixture fixture)
{
    const string Name = "gpu.tensor-core-wide-2m-r128-pipe";

    [Theory]
    [MemberData(nameof(GpuTensorCoreWide2MBandTests.Shapes), MemberType = typeof(GpuTensorCoreWide2MBandTests))]
    public void BlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch)
    {
        var config = (GpuConfiguration)ConfigurationRegistry.Find(Name);
        int seed = 9100 + h * 1000 + c * 10 + k;
        var model = GpuTensorCoreTests.ConvModel(h, w, c, k, kernel, stride, pad, pool, seed, "pipe");
        var blocks = BlockCompiler.Compile(model);
        Assert.True(config.Supports(blocks[1]), $"{Name} should support {blocks[1]} (seed {seed})");
        foreach (var block in blocks)
        {
            if (config.Supports(block)) BlockOracle.Check(model, block, config, fixture.Resources, batch, seed);
            else Assert.False(string.IsNullOrEmpty(config.Refusal(block)), $"{block}: refused without a reason");
        }
    }
}
