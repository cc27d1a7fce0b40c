using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Engine;

/// <summary>Every CPU configuration, every block of many random networks, bit-exact against the reference.</summary>
public class CpuConfigurationTests
{
    public static TheoryData<string> CpuConfigs() => [.. ConfigurationRegistry.Cpu.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(CpuConfigs))]
    public void EveryBlockOfRandomNetworksMatchesReference(string configName)
    {
        var config = ConfigurationRegistry.Find(configName);
        CpuSupport.SkipUnlessRunsHere(config);
        using var res = new ExecutionResources(3);
        int checkedBlocks = 0;
        for (int seed = 1; seed <= 40; seed++)
        {
            var model = RandomNetworks.Generate(seed);
            foreach (var block in BlockCompiler.Compile(model))
            {
                if (!config.Supports(block)) continue;
                BlockOracle.Check(model, block, config, res, batch: seed % 3 == 0 ? 3 : 1, seed);
                checkedBlocks++;
            }
        }
        Assert.True(checkedBlocks > 100, $"only {checkedBlocks} blocks checked");
    }

    [Theory]
    [MemberData(nameof(CpuConfigs))]
    public void Vgg3BlocksMatchReference(string configName)
    {
        var config = ConfigurationRegistry.Find(configName);
        CpuSupport.SkipUnlessRunsHere(config);
        var model = ModelZoo.Vgg3(seed: 7);
        using var res = new ExecutionResources(3);
        foreach (var block in BlockCompiler.Compile(model))
            if (config.Supports(block)) BlockOracle.Check(model, block, config, res, batch: 2, seed: 11 + block.Index);
    }
}
