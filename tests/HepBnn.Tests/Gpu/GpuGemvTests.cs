using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.gemv (<see cref="GpuGemv"/>) on ILGPU's CPU accelerator against the reference, bit for bit: randomized
/// dense heads (channel counts not multiples of 8/32/64, input channels not multiples of 64 so the rows end in padding
/// bits, rows of several chunks, batches 1..16, bits and scores blocks). The emulator's groups have 2 warps, so each
/// channel has 8 lanes and a chunk is 64 words (16 lanes and 128 words on CUDA): the rows here span 1 to 5 chunks.
/// Seeds are in every message.</summary>
[Collection(GpuCollection.Name)]
public class GpuGemvTests(CpuAcceleratorFixture fixture)
{
    /// <summary>Conv → pool → flatten → dense(<paramref name="hidden"/>) → dense(<paramref name="classes"/>) on a 6×6 input:
    /// the first dense block reads 3×3 pixels of <paramref name="channels"/> bits.</summary>
    internal static BnnModel Head(int channels, int hidden, int classes, int seed) => new ModelBuilder(new Shape3(6, 6, 1), seed)
        .InputConv(channels).Pool().BnSign()
        .Flatten().Dense(hidden).BnSign()
        .Dense(classes).ScoreBn()
        .Build($"gemv-{channels}-{hidden}-{classes}");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void RandomDenseHeadsMatchReference(int seed)
    {
        var rng = new Random(seed);
        int channels = rng.Next(1, 400), hidden = rng.Next(1, 140), classes = rng.Next(1, 24), batch = rng.Next(1, 17);
        var model = Head(channels, hidden, classes, seed);
        var config = new GpuGemv();
        var blocks = BlockCompiler.Compile(model);
        Assert.False(config.Supports(blocks[0]));
        foreach (var block in blocks.Skip(1))
        {
            Assert.True(config.Supports(block), $"seed {seed}: {block}");
            BlockOracle.Check(model, block, config, fixture.Resources, batch, seed);
        }
    }

    [Theory]
    // channels (3×3 pixels of them: the row's words), fc1 channels, classes, seed, batch
    [InlineData(450, 70, 10, 11, 1)]     // 9·8 = 72 words: a full chunk and 8 words of a second on the emulator
    [InlineData(900, 13, 3, 12, 5)]      // 9·15 = 135 words: 3 chunks, the last nearly empty; 13 channels (2 bytes, the second partial)
    [InlineData(1100, 64, 17, 13, 16)]   // 9·18 = 162 words; 64 channels = one word exactly; batch 16
    [InlineData(65, 1, 1, 14, 2)]        // 2 words per pixel with one bit used; a single channel and a single class
    public void LongRowsAndOddShapesMatchReference(int channels, int hidden, int classes, int seed, int batch)
    {
        var model = Head(channels, hidden, classes, seed);
        var config = new GpuGemv();
        foreach (var block in BlockCompiler.Compile(model).Skip(1))
            BlockOracle.Check(model, block, config, fixture.Resources, batch, seed);
    }

    [Fact]
    public void RefusesWhatIsNoGemvWithTheReason()
    {
        var blocks = BlockCompiler.Compile(Head(64, 70, 10, 21));
        var config = new GpuGemv();
        Assert.Contains("not a dense block", config.Refusal(blocks[0]));
        var e = Assert.Throws<HepBnnException>(() => config.Prepare(blocks[0], 1, fixture.Resources));
        Assert.Contains("gpu.gemv", e.Message);
        Assert.Contains("not a dense block", e.Message);
        var conv = BlockCompiler.Compile(new ModelBuilder(new Shape3(6, 6, 1), 22).InputConv(32).BnSign().Conv(32).Pool().BnSign()
            .Flatten().Dense(10).ScoreBn().Build("conv-dense"));
        Assert.Contains("not a dense block", config.Refusal(conv[1]));
        Assert.Null(config.Refusal(conv[2]));
    }

    [Fact]
    public void EightChannelsDivideAmongTheGroupsWarps()
    {
        // The emulator's groups: 64 threads = 2 warps, 4 channels each, 8 lanes per channel.
        Assert.Equal(2, GpuGemv.Warps(fixture.Resources.RequireGpu()));
        var block = BlockCompiler.Compile(Head(64, 130, 10, 23))[1];
        var p = GpuBlockParams.From(block);
        var launch = new GpuGemv().Launch(ref p, 3, fixture.Resources.RequireGpu());
        Assert.Equal(8, p.Lanes);
        Assert.Equal(3 * 8, launch.GridDim.X);   // 130 channels: 3 output words, 8 bytes each
        Assert.Equal(3, launch.GridDim.Y);
        Assert.Equal(64, launch.GroupDim.X);
    }
}
