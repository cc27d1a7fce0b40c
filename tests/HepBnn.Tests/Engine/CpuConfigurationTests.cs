using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Engine;

/// <summary>Every CPU configuration, every block of many random networks, bit-exact against the reference.</summary>
public class CpuConfigurationTests
{
    public static TheoryData<string> CpuConfigs(string isa) => IsaTheoryAttribute.Configs(isa);

    [IsaTheory("")] [MemberData(nameof(CpuConfigs), "")] public void RandomNetworks_NoIsa(string c) => EveryBlockOfRandomNetworksMatchesReference(c);
    [IsaTheory("POPCNT")] [MemberData(nameof(CpuConfigs), "POPCNT")] public void RandomNetworks_Popcnt(string c) => EveryBlockOfRandomNetworksMatchesReference(c);
    [IsaTheory("AVX2")] [MemberData(nameof(CpuConfigs), "AVX2")] public void RandomNetworks_Avx2(string c) => EveryBlockOfRandomNetworksMatchesReference(c);
    [IsaTheory("AVX-512BW")] [MemberData(nameof(CpuConfigs), "AVX-512BW")] public void RandomNetworks_Avx512(string c) => EveryBlockOfRandomNetworksMatchesReference(c);

    static void EveryBlockOfRandomNetworksMatchesReference(string configName)
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
        // a configuration for dense bit layers only (cpu.mt-dense-pairs) finds one or two per network; one for bit layers
        // of several output words (cpu.mt-pixel-words, cpu.mt-pixels-split: bits out too) about one (39 in these 40)
        int minimum = config switch { HepBnn.Ops.Cpu.CpuThreadsDensePairs => 20, HepBnn.Ops.Cpu.CpuThreadsPixelWords or HepBnn.Ops.Cpu.CpuThreadsPixelsSplit => 30, _ => 100 };
        Assert.True(checkedBlocks > minimum, $"only {checkedBlocks} blocks checked");
    }

    [IsaTheory("")] [MemberData(nameof(CpuConfigs), "")] public void Vgg3_NoIsa(string c) => Vgg3BlocksMatchReference(c);
    [IsaTheory("POPCNT")] [MemberData(nameof(CpuConfigs), "POPCNT")] public void Vgg3_Popcnt(string c) => Vgg3BlocksMatchReference(c);
    [IsaTheory("AVX2")] [MemberData(nameof(CpuConfigs), "AVX2")] public void Vgg3_Avx2(string c) => Vgg3BlocksMatchReference(c);
    [IsaTheory("AVX-512BW")] [MemberData(nameof(CpuConfigs), "AVX-512BW")] public void Vgg3_Avx512(string c) => Vgg3BlocksMatchReference(c);

    static void Vgg3BlocksMatchReference(string configName)
    {
        var config = ConfigurationRegistry.Find(configName);
        CpuSupport.SkipUnlessRunsHere(config);
        var model = ModelZoo.Vgg3(seed: 7);
        using var res = new ExecutionResources(3);
        foreach (var block in BlockCompiler.Compile(model))
            if (config.Supports(block)) BlockOracle.Check(model, block, config, res, batch: 2, seed: 11 + block.Index);
    }

}
