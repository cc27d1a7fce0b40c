using HepBnn.Model;
using HepBnn.Ops.Gpu;
using HepBnn.Ops;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.tensor-core-image-rows on ILGPU's CPU accelerator (the byte MMA emulated, <see cref="GpuMma"/>): the chunk
/// gathers, the per-lane 2×2 windows and the sign-test epilogue against the reference. The PTX is checked by
/// `hepbnn verify --device gpu` on the GPU machine.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreImageRowsTests(CpuAcceleratorFixture fixture)
{
    /// <summary>Input channels 1–4 (4-byte chunks straddling kernel columns and channels), kernels 1/3/5 (1 to 15 chunks:
    /// one step, a step's high half, a second step), stride, padding at every border (chunks read before the first byte and
    /// past the last of the batch), the first layer's normalization (per-class thresholds: a window's rows in different
    /// classes), pooling after the BatchNorm (OR) and before it (AND for negative scales, windows overlapping at stride 1),
    /// no pooling, 1–3 channel tiles, K not a multiple of 64, odd conv sizes (a row and column outside every window),
    /// batches whose last unit is partial.</summary>
    public static TheoryData<int, int, int, int, int, int, int, int, bool, int> Shapes() => new()
    {
        // h, w, c, k, kernel, stride, pad, pool (0 none; 2 after the BN, −2 before it at stride 1), normalize, batch
        { 5, 7, 1, 3, 3, 1, 1, 0, false, 3 },
        { 8, 6, 3, 64, 3, 1, 1, 2, true, 2 },
        { 6, 6, 3, 130, 3, 1, 0, 0, true, 1 },
        { 10, 9, 2, 8, 1, 1, 0, 0, false, 2 },
        { 7, 6, 2, 70, 5, 1, 2, 2, true, 2 },  // 15 chunks: two steps, both halves of the second
        { 12, 12, 1, 64, 3, 1, 1, 2, true, 3 }, // VGG3's conv1 pattern
        { 13, 11, 1, 64, 3, 1, 1, 2, true, 5 }, // odd sizes: the last conv row and column are in no window
        { 11, 11, 1, 40, 3, 2, 1, 2, false, 2 },
        { 7, 9, 2, 20, 3, 1, 1, -2, true, 2 },  // windows at stride 1, pooled before the BN
        { 6, 6, 4, 65, 1, 1, 0, 2, false, 3 },
        { 9, 8, 3, 128, 3, 1, 1, 0, true, 2 },  // VGG7's conv1 pattern (3 channels, 9 chunks, 2 channel tiles, no pool)
        { 10, 10, 1, 64, 3, 1, 1, 2, true, 20 }, // 63 units: 8 per warp on the CPU accelerator (the grid-stride loop)
        { 6, 6, 3, 64, 3, 1, 1, 0, false, 12 },  // 14 units of 32 conv outputs, 2 per warp
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, bool normalize, int batch) =>
        Check("gpu.tensor-core-image-rows", h, w, c, k, kernel, stride, pad, pool, normalize, batch);

    /// <summary>gpu.tensor-core-image-rows-staged on the same shapes: each group's span of input bytes staged in shared
    /// memory (a span that missed a byte some row's window reads would change its sums; the shapes' groups take 1–8 units
    /// and cross sample boundaries, and the first and last groups' spans are clamped at the batch's ends).</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void StagedBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, bool normalize, int batch) =>
        Check("gpu.tensor-core-image-rows-staged", h, w, c, k, kernel, stride, pad, pool, normalize, batch);

    void Check(string name, int h, int w, int c, int k, int kernel, int stride, int pad, int pool, bool normalize, int batch)
    {
        var config = ConfigurationRegistry.Find(name);
        int seed = 9100 + h * 100 + c * 10 + k;
        var (model, image) = Build(h, w, c, k, kernel, stride, pad, pool, normalize, seed);
        Assert.True(config.Supports(image), $"{config.Name} should support {image}: {((GpuConfiguration)config).Refusal(image)}");
        BlockOracle.Check(model, image, config, fixture.Resources, batch, seed);
    }

    /// <summary>An 8-bit image block (pool &lt; 0: pooled before the BN, &gt; 0: after) followed by a dense layer, and the
    /// image block compiled; also used by <see cref="GpuTensorCoreTests"/>.</summary>
    internal static (BnnModel, Block) Build(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, bool normalize, int seed,
        string name = "image-rows")
    {
        var b = new ModelBuilder(new Shape3(h, w, c), seed);
        b.InputConv(k, kernel, stride, pad, normalize);
        if (pool < 0) b.Pool(-pool, 1);
        b.BnSign();
        if (pool > 0) b.Pool(pool, 2);
        b.Flatten();
        b.Dense(10);
        var model = b.Build($"{name}-{seed}");
        var image = BlockCompiler.Compile(model)[0];
        Assert.Equal(BlockInput.Image, image.Input);
        return (model, image);
    }

    [Fact]
    public void RefusesWhatItCannotDoWithAReason()
    {
        var config = (GpuConfiguration)ConfigurationRegistry.Find("gpu.tensor-core-image-rows");
        var (_, pool3) = Build(7, 7, 2, 10, 1, 1, 0, -3, false, 1);
        Assert.Contains("2×2", config.Refusal(pool3));
        var (_, long5) = Build(9, 9, 5, 17, 5, 1, 2, 0, true, 2); // kw·C = 25: 7 chunks a kernel row, 35 in all
        Assert.Contains("chunks", config.Refusal(long5));
        var e = Assert.Throws<HepBnnException>(() => config.Prepare(long5, 1, fixture.Resources));
        Assert.Contains("chunks", e.Message);
        var model = new ModelBuilder(new Shape3(8, 8, 3), 5).InputConv(8).BnSign().Conv(16).BnSign().Flatten().Dense(10).Build("bits");
        Assert.Contains("image", config.Refusal(BlockCompiler.Compile(model)[1]));
    }

    /// <summary>Without normalization the zero padding adds nothing to the raw sums, so every border class has the same
    /// offsets and the kernel reads no row's class; with it (padding = the normalized zero) the offsets differ per class.
    /// Both kinds occur in <see cref="Shapes"/>.</summary>
    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 0)]
    public void OffsetsAreUniformExactlyWithoutNormalization(bool normalize, int uniform)
    {
        var (_, image) = Build(12, 12, 1, 64, 3, 1, 1, 2, normalize, 17);
        var p = GpuBlockParams.From(image);
        p.KSteps = 1;
        p.PaddedK = 64;
        var (_, meta) = GpuImageRowsData.Build(image, p);
        Assert.Equal(uniform, meta[GpuImageRowsData.Uniform]);
    }

    /// <summary>The kernel's multiply-shift division equals integer division for every numerator below 2^31 (checked at
    /// the edges of each quotient and on random numerators) for divisors of every bit length.</summary>
    [Fact]
    public void MagicDivisionIsExact()
    {
        var rng = new Random(91);
        int[] divisors = [1, 2, 3, 7, 14, 49, 196, 784, 1024, 1025, 65535, 65537, 1 << 20, 3 * (1 << 20) + 1, int.MaxValue / 3, int.MaxValue];
        foreach (int d in divisors.Concat(Enumerable.Range(0, 40).Select(_ => rng.Next(1, int.MaxValue))))
        {
            var (m, s) = GpuImageRowsData.MagicOf(d);
            foreach (long x in Numerators(d, rng))
                Assert.True((long)(((ulong)x * m) >> s) == x / d, $"divisor {d}, numerator {x}: m {m}, shift {s}");
        }
    }

    static IEnumerable<long> Numerators(int d, Random rng)
    {
        yield return 0;
        yield return int.MaxValue;
        yield return int.MaxValue - 1;
        for (int i = 0; i < 200; i++)
        {
            long x = rng.NextInt64(0, int.MaxValue);
            long edge = x / d * d;
            yield return x;
            yield return edge;
            if (edge > 0) yield return edge - 1;
            if (edge + d - 1 <= int.MaxValue) yield return edge + d - 1;
        }
    }
}
