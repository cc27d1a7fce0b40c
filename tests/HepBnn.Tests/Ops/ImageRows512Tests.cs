using System.Runtime.Intrinsics.X86;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Cpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Ops;

/// <summary>The AVX-512 rows kernel for small single-channel image layers (<see cref="ImageRows512"/>): random image
/// sizes, 1×1–3×3 kernels, strides 1–3, paddings 0–2 (every pixel a border class in the smallest images), 33–64
/// channels, thresholds with and without input normalization, no pool / pool before or after the sign / overlapping
/// pools, batches 1–3 — every CPU configuration (each partition's regions: rows, pixels, tiles, channels, batch)
/// bit-exact against the reference, block by block and the whole network.</summary>
public class ImageRows512Tests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomSingleChannelLayersMatchReference(int seed)
    {
        Assert.SkipUnless(Avx512BW.IsSupported, "this CPU lacks AVX-512BW (the rows kernel is AVX-512 only)");
        Assert.SkipUnless(ImageRows512.Enabled, "HEPBNN_IMAGE_ROWS=0 turns the rows kernel off in this process");
        var r = new Random(seed);
        for (int round = 0; round < 6; round++)
        {
            int kernel = r.Next(1, 4), stride = r.Next(1, 4), padding = r.Next(0, Math.Min(kernel, 3)), channels = r.Next(33, 65);
            int h = r.Next(kernel, 14), w = r.Next(kernel, 14), batch = r.Next(1, 4);
            int convH = (h + 2 * padding - kernel) / stride + 1, convW = (w + 2 * padding - kernel) / stride + 1;
            int pool = r.Next(4); // 0 none, 1 2×2/2 before the sign, 2 2×2/2 after it, 3 overlapping 3×3/1
            if (pool == 3 && (convH < 3 || convW < 3) || pool is 1 or 2 && (convH < 2 || convW < 2)) pool = 0;
            bool normalize = r.Next(2) == 0;
            string what = $"seed {seed} round {round}: {h}×{w}×1, kernel {kernel}, stride {stride}, padding {padding}, {channels} channels, " +
                          $"pool {pool}, normalize {normalize}, batch {batch}";
            var b = new ModelBuilder(new Shape3(h, w, 1), seed * 100 + round) { NegativeGammaFraction = 0.4 }
                .InputConv(channels, kernel, stride, padding, normalize);
            b = pool switch
            {
                1 => b.Pool().BnSign(),
                2 => b.BnSign().Pool(),
                3 => b.Pool(3, 1).BnSign(),
                _ => b.BnSign(),
            };
            var model = b.Flatten().Dense(5).Build($"rows-{seed}-{round}");
            var first = BlockCompiler.Compile(model)[0];
            Assert.True(ImageRows512.Applies(new CpuBlockData(first, Simd512Kernel.BinaryLanes, Simd512Kernel.ImageLanes)), $"{what}: the rows kernel does not apply");
            try { CpuChecks.AllConfigurations(model, batch, seed * 100 + round); }
            catch (Exception e) { throw new Xunit.Sdk.XunitException($"{what}: {e.Message}"); }
        }
    }

    /// <summary>The kernel is only taken where it is exact and faster: not for 3 input channels, per-channel divisors,
    /// ≤ 32 or > 64 channels, or patches over 5 pixel pairs.</summary>
    [Fact]
    public void AppliesOnlyToSmallSingleChannelLayers()
    {
        Assert.SkipUnless(Avx512BW.IsSupported, "this CPU lacks AVX-512BW");
        Assert.SkipUnless(ImageRows512.Enabled, "HEPBNN_IMAGE_ROWS=0 turns the rows kernel off in this process");
        static bool Applies(BnnModel m) => ImageRows512.Applies(new CpuBlockData(BlockCompiler.Compile(m)[0], Simd512Kernel.BinaryLanes, Simd512Kernel.ImageLanes));
        static ModelBuilder B(int c) => new(new Shape3(8, 8, c), 1);
        Assert.True(Applies(B(1).InputConv(64).Pool().BnSign().Flatten().Dense(3).Build("vgg3-like")));
        Assert.False(Applies(B(3).InputConv(64).BnSign().Flatten().Dense(3).Build("rgb")));
        Assert.False(Applies(B(1).InputConv(32).BnSign().Flatten().Dense(3).Build("32")));
        Assert.False(Applies(B(1).InputConv(65).BnSign().Flatten().Dense(3).Build("65")));
        Assert.False(Applies(B(1).InputConv(64, 5, 1, 2).BnSign().Flatten().Dense(3).Build("5x5")));
        Assert.True(ModelZoo.Vgg3() is var vgg3 && Applies(vgg3), "VGG3's first layer is the kernel's purpose");
    }
}
