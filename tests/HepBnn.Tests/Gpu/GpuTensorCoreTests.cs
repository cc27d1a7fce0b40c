using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops.Gpu;
using HepBnn.Ops;
using HepBnn.Tests.Support;
using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Tests.Gpu;

/// <summary>The tensor-core configuration on ILGPU's CPU accelerator, where <see cref="GpuMma"/> runs its C# emulation:
/// the emulated MMA against a plain matrix product, then the kernels' tiling and fragment indexing against the reference
/// on shapes chosen to cross every tile edge. The PTX itself is checked by `hepbnn verify --device gpu` on a real GPU.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreTests(CpuAcceleratorFixture fixture)
{
    /// <summary>One warp's MMA on a 16×8 C tile: A row-major 16 rows × 8 registers, B column-major 8 columns × 8 registers
    /// (the layouts documented on GpuMma). bytes = 0: 1-bit AND-popcount; 1: unsigned × signed bytes.</summary>
    static void MmaKernel(ArrayView<uint> a, ArrayView<uint> b, ArrayView<int> c, int bytes)
    {
        int lane = Group.IdxX, g = lane >> 2, t = lane & 3;
        var acc = new MmaAccumulator { C0 = c[g * 8 + 2 * t], C1 = c[g * 8 + 2 * t + 1], C2 = c[(g + 8) * 8 + 2 * t], C3 = c[(g + 8) * 8 + 2 * t + 1] };
        if (bytes == 0) GpuMma.AndPopc(ref acc, a[g * 8 + t], a[(g + 8) * 8 + t], a[g * 8 + 4 + t], a[(g + 8) * 8 + 4 + t], b[g * 8 + t], b[g * 8 + 4 + t]);
        else GpuMma.DotU8S8(ref acc, a[g * 8 + t], a[(g + 8) * 8 + t], a[g * 8 + 4 + t], a[(g + 8) * 8 + 4 + t], b[g * 8 + t], b[g * 8 + 4 + t]);
        Warp.Barrier();
        c[g * 8 + 2 * t] = acc.C0;
        c[g * 8 + 2 * t + 1] = acc.C1;
        c[(g + 8) * 8 + 2 * t] = acc.C2;
        c[(g + 8) * 8 + 2 * t + 1] = acc.C3;
    }

    /// <summary>Runs the emulated MMA on random tiles and compares every C element with C + <paramref name="dot"/>(A row, B column).</summary>
    void CheckMma(int bytes, int seeds, int cRange, Func<uint[], int, uint[], int, int> dot)
    {
        var gpu = fixture.Resources.RequireGpu();
        var kernel = gpu.Accelerator.LoadKernel<ArrayView<uint>, ArrayView<uint>, ArrayView<int>, int>(MmaKernel);
        for (int seed = 1; seed <= seeds; seed++)
        {
            var r = new Random(seed);
            var a = Enumerable.Range(0, 16 * 8).Select(_ => (uint)r.NextInt64(0, 1L << 32)).ToArray();
            var b = Enumerable.Range(0, 8 * 8).Select(_ => (uint)r.NextInt64(0, 1L << 32)).ToArray();
            var c = Enumerable.Range(0, 16 * 8).Select(_ => r.Next(-cRange, cRange)).ToArray();
            using var da = gpu.Upload(a);
            using var db = gpu.Upload(b);
            using var dc = gpu.Upload(c);
            kernel(gpu.Stream, new KernelConfig(1, 32), da.View, db.View, dc.View, bytes);
            gpu.Synchronize();
            var got = dc.View.GetAsArray1D(gpu.Stream);
            for (int row = 0; row < 16; row++)
                for (int col = 0; col < 8; col++)
                {
                    int expect = c[row * 8 + col] + dot(a, row * 8, b, col * 8);
                    Assert.True(expect == got[row * 8 + col], $"seed {seed}: C[{row},{col}] = {got[row * 8 + col]}, expected {expect}");
                }
        }
    }

    [Fact]
    public void EmulatedMmaIsTheAndPopcountProduct() => CheckMma(bytes: 0, seeds: 4, cRange: 1000, (a, ar, b, bc) =>
    {
        int sum = 0;
        for (int u = 0; u < 8; u++) sum += System.Numerics.BitOperations.PopCount(a[ar + u] & b[bc + u]);
        return sum;
    });

    /// <summary>The emulated byte MMA against a plain integer product: unsigned bytes of A times signed bytes of B, over
    /// the 32 k of a row (element 4·u + i in byte i of register u).</summary>
    [Fact]
    public void EmulatedByteMmaIsTheUnsignedTimesSignedProduct() => CheckMma(bytes: 1, seeds: 3, cRange: 100000, (a, ar, b, bc) =>
    {
        int sum = 0;
        for (int k = 0; k < 32; k++)
            sum += (int)((a[ar + k / 4] >> (8 * (k % 4))) & 0xFF) * (sbyte)(byte)(b[bc + k / 4] >> (8 * (k % 4)));
        return sum;
    });

    /// <summary>Blocks built to cross the kernel's edges: channel counts around word and tile sizes, chunks of 32 patch
    /// words, 64-row tiles spanning samples, pooling windows of 4 and 9 rows, stride, padding, dense and scores.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, int> Shapes() => new()
    {
        // h, w, c, k, kernel, stride, pad, pool (0 none, 2/3; negative: pool before BN), batch
        { 5, 7, 1, 3, 3, 1, 1, 0, 3 },
        { 9, 6, 63, 65, 3, 1, 1, 2, 2 },
        { 6, 6, 64, 64, 5, 1, 2, 0, 1 },
        { 7, 5, 65, 130, 3, 2, 1, 0, 2 },
        { 8, 8, 130, 63, 3, 1, 0, -2, 1 },
        { 7, 7, 5, 10, 1, 1, 0, 3, 2 },
        { 6, 9, 70, 17, 5, 2, 2, -3, 2 },
        { 4, 4, 300, 20, 3, 1, 1, 0, 1 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>Five of those shapes for the wide configuration (its own paths, fewer emulated MMAs for CI): patches of
    /// one and of several 32-word gathers (45 and 50 words), 1–3 channel tiles (on the CPU accelerator a group computes
    /// 2 tiles, so 3 tiles take a group of 2 and one starting at tile 2), odd and even MMA step counts, stride, padding,
    /// pooling before and after the BatchNorm, 1×1, dense and scores. The 8-bit image block is refused with a reason.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, int> WideShapes() => new()
    {
        { 9, 6, 63, 65, 3, 1, 1, 2, 2 },
        { 7, 5, 65, 130, 3, 2, 1, 0, 2 },
        { 7, 7, 5, 10, 1, 1, 0, 3, 2 },
        { 6, 9, 70, 17, 5, 2, 2, -3, 2 },
        { 4, 4, 300, 20, 3, 1, 1, 0, 1 },
    };

    [Theory]
    [MemberData(nameof(WideShapes))]
    public void WideBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>The same shapes with the fragments two steps ahead: 3, 5, 1, 13 and 12 MMA steps, so the loop of three
    /// steps ends with 0, 1 and 2 steps left over.</summary>
    [Theory]
    [MemberData(nameof(WideShapes))]
    public void WideDeepBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide-deep", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>The 2m kernel (32 rows per warp, two m16 tiles sharing each B fragment; one thread per row): the same
    /// shapes, so rows of both tiles cross samples and borders, partial last groups leave empty rows in either tile, odd
    /// and even step counts, gathers of one and two 32-word columns.</summary>
    [Theory]
    [MemberData(nameof(WideShapes))]
    public void Wide2MBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide-2m", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>2m compiled for 8 groups per SM (.maxntid/.minnctapersm): the same kernels under a KernelSpecialization,
    /// which the CPU accelerator must accept too. Two of the shapes (odd and even steps, pooling, stride).</summary>
    [Theory]
    [InlineData(9, 6, 63, 65, 3, 1, 1, 2, 2)]
    [InlineData(7, 5, 65, 130, 3, 2, 1, 0, 2)]
    public void Wide2MR128BlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide-2m-r128", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>The 4-warp kernel on the default CPU accelerator, whose groups hold 64 threads: one warp pair computing the
    /// tiles in turn (two per group); 2 and 5 tiles. Its 4-warp groups: GpuTensorCoreWide4WTests.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, int> Wide4WShapes()
    {
        var shapes = WideShapes();
        shapes.Add(6, 5, 40, 300, 3, 1, 1, 2, 2);
        return shapes;
    }

    [Theory]
    [InlineData(9, 6, 63, 65, 3, 1, 1, 2, 2)]
    [InlineData(6, 5, 40, 300, 3, 1, 1, 2, 2)]
    public void Wide4WBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide-4w", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>r128 with the rows' popcounts by POPC (GpuWideRowPopcounts; on the CPU accelerator its C# count): all five
    /// wide shapes, so the lane's four rows, the quad sums and the words past the patch (odd channel counts, 1–13 steps)
    /// reach the thresholds of every row of both m16 tiles.</summary>
    [Theory]
    [MemberData(nameof(WideShapes))]
    public void Wide2MLeanBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide-2m-r128-lean", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>4w with the rows' popcounts by POPC on the default (64-thread) CPU accelerator; 128-thread groups:
    /// GpuTensorCoreWide4WTests.</summary>
    [Theory]
    [InlineData(9, 6, 63, 65, 3, 1, 1, 2, 2)]
    [InlineData(6, 5, 40, 300, 3, 1, 1, 2, 2)]
    public void Wide4WLeanBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide-4w-lean", h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>r128-lean with the thresholds folded into the accumulators' start values (GpuWideFoldThresholds,
    /// complemented weights for the channels that fire below a count): all five wide shapes, so rows of every border
    /// class and both popcount parities, partial tiles (65, 130, 17 channels: padding channels never fire), pooling
    /// before and after the BatchNorm, odd channel counts; the scores block runs the lean scores kernel.</summary>
    [Theory]
    [MemberData(nameof(WideShapes))]
    public void Wide2MFoldBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks("gpu.tensor-core-wide-2m-r128-fold", h, w, c, k, kernel, stride, pad, pool, batch);

    void CheckBlocks(string name, int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        CheckBlocks(fixture.Resources, name, h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>An 8-bit 1×1 input conv to <paramref name="c"/> channels, then the conv under test (pooling after the
    /// BatchNorm when <paramref name="pool"/> &gt; 0, before it with stride 1 when &lt; 0) and a dense head.</summary>
    internal static BnnModel ConvModel(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int seed, string name)
    {
        var b = new ModelBuilder(new Shape3(h, w, 3), seed);
        b.InputConv(c, 1, 1, 0).BnSign();
        b.Conv(k, kernel, stride, pad);
        if (pool < 0) b.Pool(-pool, 1);
        b.BnSign();
        if (pool > 0) b.Pool(pool, 2);
        b.Flatten();
        b.Dense(33).BnSign();
        b.Dense(10);
        return b.Build($"{name}-{seed}");
    }

    internal static void CheckBlocks(ExecutionResources resources, string name, int h, int w, int c, int k, int kernel, int stride, int pad,
        int pool, int batch)
    {
        var config = ConfigurationRegistry.Find(name);
        int seed = h * 1000 + c * 10 + k;
        var model = ConvModel(h, w, c, k, kernel, stride, pad, pool, seed, "tensor-core");
        int tested = 0;
        foreach (var block in BlockCompiler.Compile(model))
        {
            if (block.Input == BlockInput.Image && config is GpuTensorCoreWide wide)
            {
                Assert.False(wide.Supports(block));
                Assert.Contains("image", wide.Refusal(block));
                tested++;
                continue;
            }
            Assert.True(config.Supports(block), $"{name} should support {block}");
            BlockOracle.Check(model, block, config, resources, batch, seed);
            tested++;
        }
        Assert.Equal(4, tested);
    }

    /// <summary>The 8-bit image block on the byte MMA: input channels 1–5, kernels 1/3/5 (patches of 1 and 2 steps, whose
    /// A fragments a lane gathers once for every channel tile, and of 3 and 4 steps, gathered per tile), stride, padding
    /// (border classes), the first layer's normalization (per-class thresholds), pooling on either side of the BatchNorm,
    /// 1–3 channel tiles, batches spanning tiles.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, bool, int> ImageShapes() => new()
    {
        // h, w, c, k, kernel, stride, pad, pool (0 none; negative: pool before BN), normalize, batch
        { 5, 7, 1, 3, 3, 1, 1, 0, false, 3 },
        { 8, 6, 3, 64, 3, 1, 1, 2, true, 2 },
        { 9, 9, 3, 65, 5, 2, 2, 0, true, 1 },
        { 7, 7, 2, 10, 1, 1, 0, -3, false, 2 },
        { 6, 6, 3, 130, 3, 1, 0, 0, true, 1 },
        { 6, 5, 5, 17, 5, 1, 2, -2, true, 2 },
        { 10, 9, 2, 8, 1, 1, 0, 0, false, 2 }, // 90 pixels: more pre-pass threads than one group
        { 7, 6, 2, 70, 5, 1, 2, 2, true, 2 },  // 50 elements: two byte-MMA steps held in registers for both channel tiles
        { 12, 12, 1, 64, 3, 1, 1, 2, true, 3 }, // VGG3's conv1 pattern (one channel, 2×2 pool by shuffles), batch over many groups
        { 8, 8, 3, 130, 3, 1, 1, 2, true, 2 },  // pooled by shuffles over 3 channel tiles
        { 9, 8, 1, 8, 3, 1, 1, -4, true, 1 },   // 4×4 windows (16 rows): pooled through shared memory
        { 32, 32, 1, 8, 32, 1, 0, 0, false, 1 }, // a 32-wide kernel: past the fast kernel's 31-bit masks, the general kernel
    };

    [Theory]
    [MemberData(nameof(ImageShapes))]
    public void ImageBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, bool normalize, int batch)
    {
        var config = ConfigurationRegistry.Find("gpu.tensor-core");
        int seed = 7000 + h * 100 + c * 10 + k;
        var (model, image) = GpuTensorCoreImageRowsTests.Build(h, w, c, k, kernel, stride, pad, pool, normalize, seed, "tensor-core-image");
        Assert.True(config.Supports(image), $"gpu.tensor-core should support {image}");
        BlockOracle.Check(model, image, config, fixture.Resources, batch, seed);
    }

    [Fact]
    public void RefusesWhatItCannotDoWithAReason()
    {
        var config = (GpuConfiguration)ConfigurationRegistry.Find("gpu.tensor-core");
        var model = new ModelBuilder(new Shape3(12, 12, 3), 5).InputConv(8).BnSign().Conv(16).Pool(6, 6).BnSign().Flatten().Dense(10).Build("big-pool");
        var pooled = BlockCompiler.Compile(model)[1];
        Assert.False(config.Supports(pooled));
        Assert.Contains("pooling", config.Refusal(pooled));
        var e = Assert.Throws<HepBnnException>(() => config.Prepare(pooled, 1, fixture.Resources));
        Assert.Contains("pooling", e.Message);
    }

    /// <summary>The wide configuration's tiles per group on an H200 (132 SMs × 5 resident groups) for VGG7's convs at
    /// batch 256: whole rounds of groups decide (conv6's 256 row tiles × 8 channel tiles: 4 per group fill one round of
    /// 660 slots with 512 groups; 3 would take two rounds).</summary>
    [Theory]
    [InlineData(4096, 2, 2)]  // conv2: 8192 one-tile groups take 13 rounds, 4096 two-tile groups 7
    [InlineData(1024, 4, 4)]  // conv4
    [InlineData(256, 8, 4)]   // conv6
    [InlineData(100000, 2, 2)] // at scale too: sharing the gathers saves more than the rounds lose
    [InlineData(3, 1, 1)]
    public void WideTilesPerGroupCountsWholeRounds(int rowTiles, int tiles, int expected) =>
        Assert.Equal(expected, GpuTensorCoreWide.TilesPerGroup(rowTiles, tiles, 660));

    /// <summary>The 2m kernel's tiles per group (6 groups of 64 threads per SM by registers, 792 slots on an H200; 5 by
    /// shared memory for conv6, 660) with a whole tile-time for the gathers: conv3 and conv4 share each staging between 2
    /// channel tiles, not 1 as with the wide kernel's half tile-time (docs/results/h200-mmafrac: at 1 tile per group,
    /// call 1, conv4 took 54.5 µs; at 2, call 2, 37.9 µs).</summary>
    [Theory]
    [InlineData(4096, 2, 792, 2)]  // conv2
    [InlineData(1024, 4, 924, 2)]  // conv3, conv4 (half a tile-time: 1)
    [InlineData(1024, 4, 792, 2)]
    [InlineData(256, 8, 792, 3)]   // conv5
    [InlineData(256, 8, 660, 4)]   // conv6
    [InlineData(3, 1, 792, 1)]
    public void Wide2MTilesPerGroupWeighTheGathersAsATile(int rowTiles, int tiles, int slots, int expected)
    {
        Assert.Equal(expected, GpuTensorCoreWide.TilesPerGroup(rowTiles, tiles, slots, gatherTiles: 1.0));
        if (rowTiles == 1024 && slots == 924) Assert.Equal(1, GpuTensorCoreWide.TilesPerGroup(rowTiles, tiles, slots));
    }

    /// <summary>Resident groups per multiprocessor of the wide kernels on sm_90: the stage sized to the patch, so VGG7's
    /// conv2 (5 steps, 11 KB) is bound by registers (6 groups at 76 registers, 4 for wide-deep at 100) and conv6 (18
    /// steps, 37 KB) by shared memory (5), as Nsight Compute reported (docs/results/h200-mma-b256).</summary>
    [Theory]
    [InlineData(44, 6, 6)]
    [InlineData(44, 4, 4)]
    [InlineData(148, 6, 5)]
    [InlineData(148, 4, 4)]
    [InlineData(8 * 20 + 4, 6, 5)] // the largest patch (80 words)
    public void WideGroupsPerSmTakeTheTighterLimit(int rowStride, int registerGroups, int expected) =>
        Assert.Equal(expected, GpuTensorCoreWide.GroupsPerSm(rowStride, registerGroups));

    /// <summary>A dense block over a 16×2 map has a 16×2 kernel (32 words, which the stage holds), but its 16 kernel rows do
    /// not fit the wide kernels' 15-bit tap masks: refused with the reason, and gpu.tensor-core runs it.</summary>
    [Fact]
    public void WideRefusesKernelsOverFifteenTapsASide()
    {
        var model = new ModelBuilder(new Shape3(16, 2, 3), 8).InputConv(8, 1, 1, 0).BnSign().Flatten().Dense(16).BnSign().Dense(10).Build("tall-dense");
        var fc1 = BlockCompiler.Compile(model)[1];
        Assert.Equal(16, fc1.KernelH);
        foreach (var name in new[] { "gpu.tensor-core-wide", "gpu.tensor-core-wide-deep", "gpu.tensor-core-wide-2m", "gpu.tensor-core-wide-2m-r128", "gpu.tensor-core-wide-4w", "gpu.tensor-core-wide-2m-r128-lean", "gpu.tensor-core-wide-4w-lean" })
        {
            var config = (GpuConfiguration)ConfigurationRegistry.Find(name);
            Assert.False(config.Supports(fc1));
            Assert.Contains("15 taps a side", config.Refusal(fc1));
        }
        Assert.True(ConfigurationRegistry.Find("gpu.tensor-core").Supports(fc1));
    }

    [Fact]
    public void WideRefusesPatchesLargerThanItsStage()
    {
        var config = (GpuConfiguration)ConfigurationRegistry.Find("gpu.tensor-core-wide");
        // 3×3 over 600 channels: 10 words per tap, 90 per patch.
        var model = new ModelBuilder(new Shape3(4, 4, 3), 6).InputConv(600).BnSign().Conv(16).BnSign().Flatten().Dense(10).Build("big-patch");
        var conv = BlockCompiler.Compile(model)[1];
        Assert.False(config.Supports(conv));
        Assert.Contains("patches of 92 words", config.Refusal(conv));
        var e = Assert.Throws<HepBnnException>(() => config.Prepare(conv, 1, fixture.Resources));
        Assert.Contains("92 words", e.Message);
    }
}
