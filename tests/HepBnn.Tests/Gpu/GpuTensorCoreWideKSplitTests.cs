using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.tensor-core-wide-ksplit (16 rows per group, the reduction split over the group's warps, partial sums
/// added in shared memory by warp 0) against the reference on ILGPU's CPU accelerator through the C# MMA emulation (its
/// groups take 2 warps, so 2 shares): the wide shapes (3, 5, 1, 13 and 12 steps: even, uneven and empty shares; pooling
/// windows of 4 and 9 rows inside the 16; pooling before BatchNorm; strides, padding, batches ending mid-tile), an
/// fc1-like dense block (13 steps, 130 channels: a partial channel tile, 19 rows: a partial row tile), and what it refuses.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreWideKSplitTests(CpuAcceleratorFixture fixture)
{
    const string Name = "gpu.tensor-core-wide-ksplit";

    [Theory]
    [MemberData(nameof(GpuTensorCoreTests.WideShapes), MemberType = typeof(GpuTensorCoreTests))]
    public void KSplitBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch)
    {
        int seed = h * 1000 + c * 10 + k;
        var b = new ModelBuilder(new Shape3(h, w, 3), seed);
        b.InputConv(c, 1, 1, 0).BnSign();
        b.Conv(k, kernel, stride, pad);
        if (pool < 0) b.Pool(-pool, 1);
        b.BnSign();
        if (pool > 0) b.Pool(pool, 2);
        b.Flatten();
        b.Dense(33).BnSign();
        b.Dense(10);
        CheckModel(b.Build($"ksplit-{seed}"), batch, seed, expectedChecked: 2);
    }

    [Theory]
    [InlineData(19, 130)]
    [InlineData(1, 64)]
    [InlineData(33, 7)]
    public void Fc1LikeDenseBlocksMatchReference(int batch, int channels)
    {
        int seed = 7000 + batch * 10 + channels;
        var model = new ModelBuilder(new Shape3(7, 7, 3), seed)
            .InputConv(64).BnSign()       // 7×7×64 bits: 49 words, 13 MMA steps for the dense block
            .Flatten().Dense(channels).BnSign()
            .Dense(10)
            .Build($"ksplit-fc-{seed}");
        CheckModel(model, batch, seed, expectedChecked: 1);
    }

    /// <summary>Every binary block with bits output checked against the reference; image and scores blocks refused.</summary>
    void CheckModel(BnnModel model, int batch, int seed, int expectedChecked)
    {
        var config = (GpuConfiguration)ConfigurationRegistry.Find(Name);
        int checkedBlocks = 0;
        foreach (var block in BlockCompiler.Compile(model))
        {
            if (block.Input == BlockInput.Image || block.Output == BlockOutput.Scores)
            {
                Assert.False(config.Supports(block), $"{Name} should refuse {block}");
                Assert.Contains(block.Input == BlockInput.Image ? "image" : "scores", config.Refusal(block));
                continue;
            }
            Assert.True(config.Supports(block), $"{Name} should support {block}");
            BlockOracle.Check(model, block, config, fixture.Resources, batch, seed);
            checkedBlocks++;
        }
        Assert.Equal(expectedChecked, checkedBlocks);
    }
}
