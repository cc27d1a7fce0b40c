using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>ILGPU's CPU accelerator with groups of 16 warps: gpu.tensor-core-dense-narrow's GPU shape at large batches
/// (4 row slices × 4 quarters per group).</summary>
public sealed class SixteenWarpCpuAccelerator : IDisposable
{
    public ExecutionResources Resources { get; } = new(GpuDevice.OpenCpuAccelerator(16));
    public void Dispose() => Resources.Dispose();
}

/// <summary>gpu.tensor-core-dense-narrow against the reference on ILGPU's CPU accelerator (C# MMA emulation): random
/// dense blocks with patches not a multiple of 256 bits (1–3 words of zeros past the patch), channels not a multiple of 64
/// (a partial last tile), batches not a multiple of 16 or 64 (partial row slices and row tiles), and patches of more than
/// 16 steps (the B fragments rolled forward); on groups of 2 warps (each warp two quarters in turn), 4 warps (one row
/// slice, one quarter per warp: a GPU's shape at small batches) and 16 warps (4 slices: a GPU's at large batches).</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreDenseNarrowTests(CpuAcceleratorFixture fixture, FourWarpCpuAccelerator four, SixteenWarpCpuAccelerator sixteen)
    : IClassFixture<FourWarpCpuAccelerator>, IClassFixture<SixteenWarpCpuAccelerator>
{
    const string Name = "gpu.tensor-core-dense-narrow";

    /// <summary>h, w, c of the dense block's input (after an 8-bit 1×1 conv), its channels k, the batch.</summary>
    public static TheoryData<int, int, int, int, int> Shapes() => new()
    {
        { 3, 3, 70, 130, 3 },   // 18 words (5 steps, 2 zero words), 3 channel tiles (the last of 2 channels), 3 samples
        { 7, 7, 64, 70, 19 },   // VGG3's fc1 patch (49 words: 13 steps, 3 zero words), 2 tiles, 19 samples
        { 2, 2, 300, 33, 17 },  // 20 words (5 steps, exact), 1 partial tile, 17 samples (a second row slice of 1)
        { 4, 4, 300, 65, 5 },   // 80 words: 20 steps (the fragments rolled forward once, 4 of the next 16 used)
        { 1, 1, 1000, 64, 2 },  // 16 words: 4 steps of one pixel, one exact tile
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TwoWarpGroupsMatchReference(int h, int w, int c, int k, int batch) =>
        Check(fixture.Resources, h, w, c, k, batch);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void FourWarpGroupsMatchReference(int h, int w, int c, int k, int batch) =>
        Check(four.Resources, h, w, c, k, batch);

    [Theory]
    [InlineData(7, 7, 64, 70, 70)]   // VGG3's fc1 patch, 2 row tiles of 64 (the second with 6 samples)
    [InlineData(3, 3, 70, 130, 21)]  // one row tile: slice 1 partial, slices 2–3 empty
    [InlineData(4, 4, 300, 65, 5)]   // 20 steps in 4-slice groups
    public void SixteenWarpGroupsMatchReference(int h, int w, int c, int k, int batch) =>
        Check(sixteen.Resources, h, w, c, k, batch);

    static void Check(ExecutionResources resources, int h, int w, int c, int k, int batch)
    {
        int seed = 9000 + h * 100 + c + k + batch;
        var model = new ModelBuilder(new Shape3(h, w, 3), seed)
            .InputConv(c, 1, 1, 0).BnSign()
            .Flatten().Dense(k).BnSign()
            .Dense(10)
            .Build($"dense-narrow-{seed}");
        var blocks = BlockCompiler.Compile(model);
        var config = (GpuConfiguration)ConfigurationRegistry.Find(Name);
        var dense = blocks[1];
        Assert.True(config.Supports(dense), $"{Name} should support {dense} (seed {seed})");
        BlockOracle.Check(model, dense, config, resources, batch, seed);
        Assert.Contains("image", config.Refusal(blocks[0]));
        Assert.Contains("scores", config.Refusal(blocks[2]));
    }

    [Fact]
    public void RefusesConvPoolingAndLongPatchesWithAReason()
    {
        var config = (GpuConfiguration)ConfigurationRegistry.Find(Name);
        var conv = new ModelBuilder(new Shape3(6, 6, 3), 3).InputConv(8).BnSign().Conv(16).BnSign().Flatten().Dense(10).Build("narrow-conv");
        Assert.Contains("conv blocks", config.Refusal(BlockCompiler.Compile(conv)[1]));
        var wide = new ModelBuilder(new Shape3(15, 15, 3), 4).InputConv(65, 1, 1, 0).BnSign().Flatten().Dense(64).BnSign().Dense(10).Build("narrow-long");
        var block = BlockCompiler.Compile(wide)[1];
        Assert.Contains("452 words", config.Refusal(block)); // 15·15·2 words: over the stage's 256
        var e = Assert.Throws<HepBnnException>(() => config.Prepare(block, 1, fixture.Resources));
        Assert.Contains("452 words", e.Message);
    }

    /// <summary>Row slices per group on an H200 (132 SMs): VGG3 fc1 at b256 one group of 16 warps per SM; at b16 one slice;
    /// VGG7 fc1 (16 tiles, 32 steps) at b256 2 slices (4 would leave half the SMs idle); a stage over 48 KB is never chosen.</summary>
    [Theory]
    [InlineData(256, 32, 108, 4)]
    [InlineData(16, 32, 108, 1)]
    [InlineData(1, 32, 108, 1)]
    [InlineData(256, 16, 260, 2)]
    [InlineData(256, 2, 516, 1)]    // 64 steps: only one slice's stage fits
    public void SlicesFillTheGpu(int batch, int tiles, int rowStride, int expected) =>
        Assert.Equal(expected, GpuTensorCoreDenseNarrow.SlicesFor(batch, tiles, rowStride, 4, 132));
}
