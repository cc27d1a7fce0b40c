using HepBnn.Devices;
using HepBnn.Formats.Native;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Reference;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Ops;

/// <summary>First layers with per-channel normalization divisors (torchvision-style std): per-input-channel sums
/// combined in 64-bit fixed point (DESIGN.md "First layer"). Every CPU configuration bit-exact against the float64
/// reference on random shapes, normalizations and weights (the seed is in every failure message); GPU configurations
/// declare the block not applicable; the native format and the float32 ONNX export keep the divisors.</summary>
public class PerChannelNormalizationTests
{
    /// <summary>Random image layers: 1–4 channels, kernels 1–5, strides 1–3, padding 0–2, 1–130 outputs, pooling before
    /// or after the sign, batch 1 or 3.</summary>
    internal static BnnModel RandomModel(int seed)
    {
        var r = new Random(seed);
        int c = r.Next(1, 5), kernel = r.Next(1, 6), stride = r.Next(1, 4), pad = r.Next(0, Math.Min(3, kernel));
        int h = r.Next(Math.Max(1, kernel - 2 * pad), 10), w = r.Next(Math.Max(1, kernel - 2 * pad), 10);
        int k = new[] { 1, 7, 20, 64, 65, 130 }[r.Next(6)];
        var b = new ModelBuilder(new Shape3(h, w, c), seed) { NegativeGammaFraction = 0.4 }.InputConv(k, kernel, stride, pad, normalize: true, perChannel: c > 1);
        int oh = (h + 2 * pad - kernel) / stride + 1, ow = (w + 2 * pad - kernel) / stride + 1;
        int pool = oh >= 2 && ow >= 2 ? r.Next(3) : 0;
        if (pool == 1) b.Pool();
        b.BnSign();
        if (pool == 2) b.Pool();
        return b.Flatten().Dense(5).Build($"per-channel-{seed}");
    }

    [Theory]
    [InlineData(1, 20)]
    [InlineData(21, 40)]
    public void EveryCpuConfigurationMatchesReference(int from, int to)
    {
        int perChannel = 0;
        for (int seed = from; seed <= to; seed++)
        {
            var model = RandomModel(seed);
            perChannel += BlockCompiler.Compile(model)[0].HasChannelSums ? 1 : 0;
            CpuChecks.AllConfigurations(model, batch: seed % 2 == 0 ? 3 : 1, seed);
        }
        Assert.True(perChannel >= (to - from + 1) / 2, $"only {perChannel} models with per-channel divisors");
    }

    /// <summary>VGG7's first block as the shipped model has it: 3 channels, 3×3, padding 1, torchvision's stds.</summary>
    [Fact]
    public void TorchvisionStdsOnVgg7FirstBlock()
    {
        var m = new ModelBuilder(new Shape3(12, 11, 3), 5) { NegativeGammaFraction = 0.3 }.InputConv(128).BnSign().Conv(65).Pool().BnSign().Flatten().Dense(10).Build("tv");
        var conv = (InputConv2d)m.Layers[0];
        double[] mean = [0.4914, 0.4822, 0.4465], std = [0.2470, 0.2435, 0.2616];
        var layers = m.Layers.ToArray();
        layers[0] = conv with { Normalization = InputNormalization.Create(mean.Select(v => 255 * v).ToArray(), std.Select(v => 255 * v).ToArray()) };
        // BN statistics on the normalized scale (sums of 27 values of about ±2), so thresholds fall where pixels land
        var bn = ((BatchNormSign)layers[1]).Params;
        var rnd = new Random(9);
        layers[1] = new BatchNormSign(bn with { Mean = bn.Mean.Select(_ => rnd.NextDouble() * 6 - 3).ToArray(), Variance = bn.Variance.Select(_ => 4 + rnd.NextDouble()).ToArray() });
        var model = new BnnModel("torchvision-std", m.InputShape, layers);
        var block = BlockCompiler.Compile(model)[0];
        Assert.True(block.HasChannelSums);
        Assert.Equal(48, BlockCompiler.ChannelSumBits(3, 3, 3));
        Assert.Equal(1L << 48, block.ChannelMultipliers.Max()); // the smallest divisor's channel gets 2^K
        CpuChecks.AllConfigurations(model, batch: 3, seed: 17);
    }

    /// <summary>Precision of the fixed point: every output channel's BN mean sits 10⁻⁹ above or below the reference's
    /// normalized pre-activation at one pixel of a given image (a pixel step there is ≈ 0.015; the bound in DESIGN.md
    /// is ~10⁻¹³), so the decision there depends on resolving 10⁻⁹. Every CPU configuration must decide as the reference.</summary>
    [Fact]
    public void DecisionsResolveNearTies()
    {
        var m = new ModelBuilder(new Shape3(4, 5, 3), 21).InputConv(64).BnSign().Flatten().Dense(6).Build("near-ties");
        var conv = (InputConv2d)m.Layers[0];
        double[] mean = [0.4914, 0.4822, 0.4465], std = [0.2470, 0.2435, 0.2616];
        var first = conv with { Normalization = InputNormalization.Create(mean.Select(v => 255 * v).ToArray(), std.Select(v => 255 * v).ToArray()) };
        var image = ModelZoo.RandomImages(m.InputShape, 1, 5);
        var y = ReferenceEngine.RunLayers(new BnnModel("c", m.InputShape, [first]), 0, 1, RefTensor.FromImage(m.InputShape, image));
        var rnd = new Random(4);
        var bn = new BatchNormParams(Enumerable.Repeat(1.0, 64).Select((g, o) => o % 3 == 0 ? -g : g).ToArray(), new double[64],
            Enumerable.Range(0, 64).Select(o => y[rnd.Next(4), rnd.Next(5), o] + (o % 2 == 0 ? 1e-9 : -1e-9)).ToArray(),
            Enumerable.Repeat(1.0, 64).ToArray(), 0);
        var model = new BnnModel("near-ties", m.InputShape, [first, new BatchNormSign(bn), .. m.Layers.Skip(2)]);
        Assert.True(BlockCompiler.Compile(model)[0].HasChannelSums);
        foreach (var config in ConfigurationRegistry.Cpu)
            if (ConfigurationAvailability.Reason(config) is null && BlockCompiler.Compile(model).All(config.Supports))
                CpuChecks.Session(model, config.Name, 1, 0, image);
    }

    /// <summary>Equal divisors collapse to one divisor: the one-divisor kernels and thresholds, the same model hash.</summary>
    [Fact]
    public void EqualDivisorsKeepTheOneDivisorPath()
    {
        var n = InputNormalization.Create([1, 2, 3], [60, 60, 60]);
        Assert.False(n.IsPerChannel);
        Assert.Equal(60, n.Divisor);
        var m = new ModelBuilder(new Shape3(5, 5, 3), 3).InputConv(8, normalize: true).BnSign().Flatten().Dense(4).Build("one");
        var conv = (InputConv2d)m.Layers[0];
        var same = new BnnModel("one", m.InputShape, [conv with { Normalization = InputNormalization.Create(conv.Normalization!.Offset, [conv.Normalization.Divisor, conv.Normalization.Divisor, conv.Normalization.Divisor]) }, .. m.Layers.Skip(1)]);
        Assert.Equal(ModelHash.Compute(m), ModelHash.Compute(same));
        Assert.False(BlockCompiler.Compile(same)[0].HasChannelSums);
    }

    /// <summary>gpu.warp-reduce and gpu.tensor-core do not keep per-channel sums: they say so (the others are checked
    /// against the reference in <see cref="HepBnn.Tests.Gpu.PerChannelGpuTests"/>).</summary>
    [Fact]
    public void GpuConfigurationsWithoutChannelSumsSayWhy()
    {
        var block = BlockCompiler.Compile(RandomModelWithChannelSums())[0];
        Assert.True(block.HasChannelSums);
        foreach (var name in new[] { "gpu.warp-reduce", "gpu.tensor-core" })
        {
            var config = (GpuConfiguration)ConfigurationRegistry.Find(name);
            Assert.False(config.Supports(block), name);
            Assert.Contains("per-channel normalization divisors", config.Refusal(block));
        }
        Assert.True(ConfigurationRegistry.Find("gpu.thread-per-output").Supports(block));
    }

    internal static BnnModel RandomModelWithChannelSums() =>
        new ModelBuilder(new Shape3(6, 6, 3), 2).InputConv(20, normalize: true, perChannel: true).BnSign().Flatten().Dense(3).Build("pc");

    [Fact]
    public void NativeFormatKeepsTheDivisors()
    {
        var model = RandomModelWithChannelSums();
        var back = ModelFile.FromBytes(ModelFile.ToBytes(model));
        var n = ((InputConv2d)back.Layers[0]).Normalization!;
        Assert.Equal(((InputConv2d)model.Layers[0]).Normalization!.ChannelDivisors, n.ChannelDivisors);
        Assert.Equal(ModelHash.Compute(model), ModelHash.Compute(back));
    }

    [Fact]
    public void OnnxFloat32ExportImportsBackWithTheDivisors()
    {
        var model = RandomModelWithChannelSums();
        var e = Assert.Throws<HepBnnException>(() => OnnxExporter.Export(model));
        Assert.Contains("per-channel normalization divisors", e.Message);
        var back = OnnxImporter.Import(OnnxExporter.Export(model, new OnnxExportOptions { Precision = OnnxPrecision.Float32 }));
        var d = ((InputConv2d)back.Layers[0]).Normalization!.ChannelDivisors!;
        var expected = ((InputConv2d)model.Layers[0]).Normalization!.ChannelDivisors!;
        for (int c = 0; c < d.Length; c++) Assert.Equal((float)expected[c], d[c]);
    }
}
