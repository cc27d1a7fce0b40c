using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.tensor-core-wide-2m-r128-band on ILGPU's CPU accelerator (its MMA emulation runs the kernel body):
/// the band, the rows' bases, the offset table and the masked popcounts against the reference, bit for bit; and the
/// set-up's pitch choice against the bank-conflict count of VGG7's conv2.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreWide2MBandTests(CpuAcceleratorFixture fixture)
{
    const string Name = "gpu.tensor-core-wide-2m-r128-band";

    /// <summary>VGG7 conv2-like shapes scaled down: 1–4 words per pixel, kernels 1–3, stride 2, padding 0/1, pooling 2
    /// (before and after the BatchNorm), 3 and none; tiles of a whole map, of part of a pooled row (17 pooled columns:
    /// two tiles, the second of one column), of several pooled rows with a partial last one; 17, 64, 65, 128 and 130
    /// channels (partial channel tiles, 1–3 tiles: a group of 2 and one starting at tile 2); 1–9 MMA steps, odd and even,
    /// half steps past the patch; the dense block over a 2×2 map where the band kernel takes it.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, int> Shapes() => new()
    {
        // h, w, c, k, kernel, stride, pad, pool (0 none; negative: pool before BN), batch
        { 4, 34, 100, 65, 3, 1, 1, 2, 2 },   // conv2's tile: 16 pooled columns of one pooled row, 2 words, 4.5 steps
        { 9, 7, 63, 128, 3, 1, 1, 2, 2 },    // 1 word, odd sides: 3 pooled columns × 4 rows per tile
        { 7, 6, 130, 17, 3, 1, 1, -2, 2 },   // 3 words, pool before the BatchNorm
        { 6, 6, 256, 64, 3, 1, 1, 0, 2 },    // 4 words, 9 steps, no pooling: the whole map in one tile
        { 8, 9, 70, 130, 3, 2, 1, 0, 1 },    // stride 2, 3 channel tiles
        { 7, 7, 5, 10, 1, 1, 0, 3, 2 },      // 1×1, one word of patch, 3×3 windows (7 per tile); the dense block too
        { 6, 7, 40, 33, 2, 1, 0, 2, 3 },     // 2×2 kernel without padding, batch 3
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckShape(fixture, Name, 9000, h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>Configuration <paramref name="name"/> on the conv model of one of <see cref="Shapes"/> (seeded from
    /// <paramref name="seedBase"/>): it supports the conv block, and every block it supports matches the reference bit for bit.</summary>
    internal static void CheckShape(CpuAcceleratorFixture fixture, string name, int seedBase,
        int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckShape(fixture, (GpuConfiguration)ConfigurationRegistry.Find(name), seedBase, h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>As above for a configuration object (one kept out of the registry, as gpu.tensor-core-wide-2m-r128-pipe).</summary>
    internal static void CheckShape(CpuAcceleratorFixture fixture, GpuConfiguration config, int seedBase,
        int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch)
    {
        string name = config.Name;
        int seed = seedBase + h * 1000 + c * 10 + k;
        var model = GpuTensorCoreTests.ConvModel(h, w, c, k, kernel, stride, pad, pool, seed, name);
        var blocks = BlockCompiler.Compile(model);
        Assert.True(config.Supports(blocks[1]), $"{name} should support {blocks[1]} (seed {seed})");
        foreach (var block in blocks)
        {
            if (config.Supports(block)) BlockOracle.Check(model, block, config, fixture.Resources, batch, seed);
            else Assert.False(string.IsNullOrEmpty(config.Refusal(block)), $"{block}: refused without a reason");
        }
    }

    /// <summary>What it refuses, each with its reason: the 8-bit image block, scores, 5 words per pixel, a 5×5 kernel.</summary>
    [Fact]
    public void RefusesWhatItCannotDoWithAReason()
    {
        var config = (GpuConfiguration)ConfigurationRegistry.Find(Name);
        var blocks = BlockCompiler.Compile(new ModelBuilder(new Shape3(6, 6, 3), 3).InputConv(300).BnSign().Conv(16).BnSign()
            .Conv(16, 5, 1, 2).BnSign().Flatten().Dense(10).Build("band-refusals"));
        Assert.Contains("image", config.Refusal(blocks[0]));
        Assert.Contains("5 words per pixel", config.Refusal(blocks[1]));
        Assert.Contains("3×3", config.Refusal(blocks[2]));
        Assert.Contains("scores", config.Refusal(blocks[3]));
        var e = Assert.Throws<HepBnnException>(() => config.Prepare(blocks[1], 1, fixture.Resources));
        Assert.Contains("5 words per pixel", e.Message);
    }

    /// <summary>VGG7's conv2 (32×32×128 → 128, 3×3, pool 2): a tile is one pooled row (16 pooled columns), the band 4 rows
    /// of 34 pixels × 2 words; the pitch 144 units (≡ 16 mod 32) puts a pooling window's lower rows in the other 16 banks,
    /// so every A load of the 5 steps is one wavefront, where the unpadded 136 conflicts.</summary>
    [Fact]
    public void Vgg7Conv2BandIsConflictFree()
    {
        var model = new ModelBuilder(new Shape3(32, 32, 3), 1).InputConv(128).BnSign().Conv(128).BnSign().Pool(2, 2).Conv(8).BnSign().Flatten().Dense(10).Build("vgg7-conv2");
        var p = GpuWideBand.WithBand(GpuTensorCore.WithSteps(GpuBlockParams.From(BlockCompiler.Compile(model)[1])));
        Assert.Equal((16, 16, 5), (p.TileCols, p.TilePooled, p.KSteps));
        GpuWideBand.Extent(p, out int height, out int width);
        Assert.Equal((4, 34), (height, width));
        Assert.Equal(144, p.RowStride);
        Assert.Equal(4 * 144 / 2, p.StageWords);
        Assert.Equal(2 * 5 * 8, GpuWideBand.Wavefronts(p));
        p.RowStride = 136;
        Assert.True(GpuWideBand.Wavefronts(p) > 2 * 5 * 8);
    }

    /// <summary>The offset table's units: inside the patch [ky][kx][word] at ky · pitch + kx · 2·InWords + 2·word + half;
    /// past it 0 (and masked out of the popcounts).</summary>
    [Fact]
    public void UnitOffsetsWalkThePatch()
    {
        var p = new GpuBlockParams { KH = 3, KW = 3, InWords = 2, KWords = 18, RowStride = 144 };
        Assert.Equal(0, GpuWideBand.UnitOffset(p, 0));
        Assert.Equal(3, GpuWideBand.UnitOffset(p, 3));   // tap (0, 0), word 1, high half
        Assert.Equal(4, GpuWideBand.UnitOffset(p, 4));   // tap (0, 1)
        Assert.Equal(144, GpuWideBand.UnitOffset(p, 12)); // tap (1, 0)
        Assert.Equal(2 * 144 + 2 * 4 + 3, GpuWideBand.UnitOffset(p, 35));
        Assert.Equal(0, GpuWideBand.UnitOffset(p, 36));
        Assert.Equal(~0u, GpuWideBand.Inside(p, 35));
        Assert.Equal(0u, GpuWideBand.Inside(p, 36));
    }
}
