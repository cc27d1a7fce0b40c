using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Gpu;

/// <summary>Every GPU configuration, bit-exact against the reference on ILGPU's CPU accelerator. The accelerator emulates
/// each warp with 32 threads (every shuffle is a barrier), so the blocks are kept small; `hepbnn verify` runs the full set
/// (30 random networks, vgg3, vgg7) on a real GPU.</summary>
[Collection(GpuCollection.Name)]
public class GpuConfigurationTests(CpuAcceleratorFixture fixture)
{
    public static TheoryData<string> GpuConfigs() => [.. ConfigurationRegistry.Gpu.Select(c => c.Name)];

    /// <summary>Binary multiply-accumulates of a block at a batch: what the emulation time grows with.</summary>
    internal static long Cost(Block b, int batch) => batch * b.ConvShape.Elements * b.KernelH * b.KernelW * (b.Input == BlockInput.Image ? b.InputShape.C : b.InputWords);

    /// <summary>Configurations that run 8-bit image blocks only (the first layer).</summary>
    static bool ImageOnly(IKernelConfiguration config) => config is GpuTensorCoreImageRows or GpuConstantShapes { Original: GpuTensorCoreImageRows };

    /// <summary>Configurations of small binary conv blocks with bits output only (gpu.tensor-core-wide-2m-r128-band and its
    /// twins: ≤ 4 words per pixel, kernels ≤ 3×3, strides ≤ 2); whether <paramref name="block"/> is one they must take.</summary>
    static bool BandOnly(IKernelConfiguration config) => config is GpuTensorCoreWide2MBand or GpuConstantShapes { Original: GpuTensorCoreWide2MBand };
    static bool BandTakes(Block b) => b.Input != BlockInput.Image && b.Output == BlockOutput.Bits && b.InputWords <= GpuTensorCoreWide2MBand.MaxInWords
        && b.KernelH <= 3 && b.KernelW <= 3 && b.Stride <= 2;

    /// <summary>Configurations of dense blocks with bits output only (gpu.tensor-core-dense-narrow); whether
    /// <paramref name="block"/> is one they must take.</summary>
    static bool NarrowOnly(IKernelConfiguration config) => config is GpuTensorCoreDenseNarrow;
    /// <summary>Dense bits blocks of the 16 random networks under the emulation cost cap (all of them: every run must check each).</summary>
    const int DenseBlocksChecked = 10;
    static bool DenseTakes(Block b) => b.Input != BlockInput.Image && b.IsDense && b.Output == BlockOutput.Bits;

    /// <summary>Configurations of dense blocks of bits input only, bits or scores output (gpu.gemv and its twins).</summary>
    static bool GemvOnly(IKernelConfiguration config) => config is GpuGemv or GpuConstantShapes { Original: GpuGemv };

    [Theory]
    [MemberData(nameof(GpuConfigs))]
    public void EveryBlockOfRandomNetworksMatchesReference(string configName)
    {
        var config = ConfigurationRegistry.Find(configName);
        int checkedBlocks = 0, pooled = 0, image = 0, scores = 0, batched = 0, imageBlocks = 0;
        for (int seed = 1; seed <= 16; seed++)
        {
            var model = RandomNetworks.Generate(seed);
            int batch = seed % 4 == 0 ? 2 : 1;
            foreach (var block in BlockCompiler.Compile(model))
            {
                if (block.Input == BlockInput.Image && config.Supports(block)) imageBlocks++;
                if (!config.Supports(block) || Cost(block, batch) > 12_000) continue;
                BlockOracle.Check(model, block, config, fixture.Resources, batch, seed);
                checkedBlocks++;
                if (block.HasPool) pooled++;
                if (block.Input == BlockInput.Image) image++;
                if (block.Output == BlockOutput.Scores) scores++;
                if (batch > 1) batched++;
            }
        }
        // The sample must cover every kind of block the kernels distinguish (image blocks where the configuration takes them);
        // a configuration of 8-bit image blocks only takes nothing else (its own tests cover its pooling).
        bool covered = ImageOnly(config)
            ? image >= 10 && checkedBlocks == image && batched >= 2
            : BandOnly(config) ? checkedBlocks >= 20 && pooled >= 4 && scores == 0 && batched >= 2
            : NarrowOnly(config) ? checkedBlocks >= DenseBlocksChecked && pooled == 0 && scores == 0 && batched >= 2
            : GemvOnly(config) ? checkedBlocks >= 12 && pooled == 0 && image == 0 && scores >= 8 && checkedBlocks > scores && batched >= 3
            : checkedBlocks >= 30 && pooled >= 4 && (imageBlocks == 0 || image >= 10) && scores >= 12 && batched >= 8;
        Assert.True(covered, $"{configName}: {checkedBlocks} blocks ({pooled} pooled, {image} image, {scores} scores, {batched} batched)");
    }

    [Theory]
    [MemberData(nameof(GpuConfigs))]
    public void Vgg3PatternBlocksMatchReference(string configName)
    {
        // VGG3's blocks at 8×8 (Support/TinyModels): the full 28×28 VGG3 took the emulator 20 s to minutes per
        // configuration; `hepbnn verify` covers full-size models on a real GPU.
        var config = ConfigurationRegistry.Find(configName);
        var model = TinyModels.Vgg3Like(seed: 7);
        foreach (var block in BlockCompiler.Compile(model))
        {
            if (block.Index == 0 && !config.Supports(block)) continue; // not every GPU configuration takes the image block
            if (block.Index > 0 && ImageOnly(config))
            {
                Assert.Contains("image", config is GpuConstantShapes twin ? twin.Refusal(block) : ((GpuConfiguration)config).Refusal(block));
                continue;
            }
            if (GemvOnly(config) && !block.IsDense)
            {
                Assert.False(config.Supports(block), $"{configName} should refuse {model.Name} {block}");
                Assert.Contains("not a dense block", config is GpuConstantShapes twin ? twin.Refusal(block) : ((GpuConfiguration)config).Refusal(block));
                continue;
            }
            if (block.Index > 0 && BandOnly(config) && !BandTakes(block))
            {
                Assert.False(config.Supports(block), $"{configName} should refuse {model.Name} {block}");
                Assert.False(string.IsNullOrEmpty(config is GpuConstantShapes twin ? twin.Refusal(block) : ((GpuConfiguration)config).Refusal(block)));
                continue;
            }
            if (block.Index > 0 && NarrowOnly(config) && !DenseTakes(block))
            {
                Assert.False(config.Supports(block), $"{configName} should refuse {model.Name} {block}");
                Assert.False(string.IsNullOrEmpty(((GpuConfiguration)config).Refusal(block)));
                continue;
            }
            Assert.True(config.Supports(block), $"{configName} should support {model.Name} {block}");
            BlockOracle.Check(model, block, config, fixture.Resources, batch: 1, seed: 11 + block.Index);
        }
    }
}
