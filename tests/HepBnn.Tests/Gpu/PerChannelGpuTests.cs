using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Tests.Ops;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Gpu;

/// <summary>First layers with per-channel normalization divisors on every GPU configuration that takes them (64-bit
/// P = Σ_c q_c·S_c, <c>GpuBlockMath.Decide</c>), bit-exact against the reference on ILGPU's CPU accelerator; the others
/// must refuse with the reason. Small blocks: the accelerator emulates every warp.</summary>
[Collection(GpuCollection.Name)]
public class PerChannelGpuTests(CpuAcceleratorFixture fixture)
{
    public static TheoryData<string> GpuConfigs() => [.. ConfigurationRegistry.Gpu.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(GpuConfigs))]
    public void RandomPerChannelLayersMatchReference(string configName)
    {
        var config = ConfigurationRegistry.Find(configName);
        int checkedBlocks = 0, refused = 0;
        for (int seed = 1; seed <= 40 && checkedBlocks < 8; seed++)
        {
            var model = PerChannelNormalizationTests.RandomModel(seed);
            var block = BlockCompiler.Compile(model)[0];
            if (!block.HasChannelSums) continue;
            if (!config.Supports(block))
            {
                // a configuration with a reason must give one (tensor-core-wide refuses every image block, gpu.fused per-channel ones)
                if (config is HepBnn.Ops.Gpu.GpuConfiguration gc) Assert.False(string.IsNullOrWhiteSpace(gc.Refusal(block)), $"{configName}: refusal without a reason");
                refused++;
                continue;
            }
            if (GpuConfigurationTests.Cost(block, 1) > 20_000) continue;
            BlockOracle.Check(model, block, config, fixture.Resources, batch: seed % 2 == 0 ? 2 : 1, seed);
            checkedBlocks++;
        }
        Assert.True(checkedBlocks >= 5 || (checkedBlocks == 0 && refused > 0), $"{configName}: {checkedBlocks} checked, {refused} refused");
    }
}
