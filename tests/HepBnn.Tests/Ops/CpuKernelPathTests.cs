using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Ops;

/// <summary>Shapes aimed at each branch of the CPU kernels (patch gather vs dense, carry-save blocks and their flush,
/// partial lane groups and words, border classes, pooling before/after/overlapping, scores from a convolution), every
/// CPU configuration bit-exact against the reference.</summary>
public class CpuKernelPathTests
{
    static readonly Dictionary<string, Func<int, BnnModel>> Cases = new()
    {
        // image layer: 1 channel (odd taps → pair padding), full 64-channel word, pool before BN (OR/AND by sign)
        ["image-c1-k64-pool-before"] = s => B(new(9, 9, 1), s, 0.5).InputConv(64).Pool().BnSign().Flatten().Dense(10).Build("c1"),
        // image layer: normalized (threshold border classes), 3 channels, 20 outputs (partial lane group)
        ["image-c3-k20-normalized"] = s => B(new(7, 6, 3), s).InputConv(20, normalize: true).BnSign().Conv(9, 3, 2, 1).BnSign().Flatten().Dense(3).Build("c3"),
        // image layer: even taps, 130 outputs (three words, the last partial), stride 2
        ["image-c2-k130-kernel1"] = s => B(new(5, 5, 2), s).InputConv(130, 1, 2, 0).BnSign().Flatten().Dense(7).Build("k130"),
        // image layer: 196 taps (int16 sums widened after 64 pixel pairs), normalized, 40 outputs
        ["image-large-patch"] = s => B(new(9, 8, 4), s).InputConv(40, 7, 1, 3, normalize: true).BnSign().Flatten().Dense(3).Build("img-196"),
        // binary conv: 5 words per pixel → 45-word patches (carry-save blocks + tail), 70 outputs
        ["conv-5-words"] = s => B(new(5, 4, 1), s).InputConv(320).BnSign().Conv(70).BnSign().Flatten().Dense(5).Build("w5"),
        // binary conv: 288-word patches (eights counter flushed after 31 blocks)
        ["conv-flush"] = s => B(new(3, 3, 1), s).InputConv(2048, 1, 1, 0).BnSign().Conv(9).BnSign().Flatten().Dense(4).Build("flush"),
        // binary conv: 27-word patches (one 16-word carry-save block, then the 8-, 2- and 1-word tails)
        ["conv-3-words"] = s => B(new(5, 5, 1), s).InputConv(192).BnSign().Conv(70).BnSign().Flatten().Dense(5).Build("w3"),
        // binary conv: 576-word patches (the sixteens counter flushed after 31 blocks of 16 words), odd width: pixel
        // pairs and a single pixel per row
        ["conv-flush-16"] = s => B(new(3, 3, 1), s).InputConv(4096, 1, 1, 0).BnSign().Conv(9).BnSign().Flatten().Dense(4).Build("flush16"),
        // dense: 256-word input (flush) into 13 outputs, then 1 output (one partial group)
        ["dense-flush-k1"] = s => B(new(4, 4, 1), s).InputConv(1024, 1, 1, 0).BnSign().Flatten().Dense(13).BnSign().Dense(1).BnSign().Dense(2).Build("dense"),
        // kernel larger than the input (padding 2): every pixel is a border class
        ["kernel-larger-than-input"] = s => B(new(2, 2, 1), s).InputConv(8, 3, 1, 1).BnSign().Conv(65, 5, 1, 2).BnSign().Flatten().Dense(3).Build("big-kernel"),
        // stride larger than the kernel
        ["stride-gt-kernel"] = s => B(new(9, 9, 2), s).InputConv(5, 2, 3, 1).BnSign().Conv(7, 2, 3, 1).BnSign().Flatten().Dense(3).Build("stride"),
        // 1x1 convolution with padding 2: border rows/columns see no input at all
        ["all-padding-rows"] = s => B(new(3, 3, 1), s).InputConv(16, 1, 1, 2).BnSign().Conv(65, 1, 1, 2).BnSign().Flatten().Dense(3).Build("pad"),
        // overlapping integer max pool (size 3, stride 1) with many negative scales (AND pooling)
        ["pool-overlap-and"] = s => B(new(6, 7, 1), s, 0.5).InputConv(8).Pool(3, 1).BnSign().Conv(66).Pool(3, 1).BnSign().Flatten().Dense(3).Build("overlap"),
        // pooling after the sign (OR), odd sizes
        ["pool-after-sign"] = s => B(new(7, 7, 1), s, 0.5).InputConv(12).BnSign().Pool(2, 2).Conv(64).BnSign().Pool(3, 2).Flatten().Dense(3).Build("after"),
        // the class scores come from a convolution with several pixels and two words of channels
        ["scores-from-conv"] = s => B(new(4, 3, 1), s).InputConv(8).BnSign().Conv(70, 3, 1, 1).ScoreBn().Build("conv-scores"),
        // AVX-512 pair rows (CpuPairRows): 72-word patches, so a chunk holds 14 pixel pairs; rows of 37 pixels split
        // into two chunks, then one leftover pixel; 70 outputs (a partial 16-channel group in the second word)
        ["pair-rows-chunks"] = s => B(new(3, 37, 1), s).InputConv(512, 1, 1, 0).BnSign().Conv(70).BnSign().Flatten().Dense(3).Build("chunks"),
        // pair rows with pooling: 2×2 windows (7 per chunk, the last chunk partial), then overlapping windows (stride 1)
        // on 18-word patches (8 per chunk), AND pooling for the negative scales
        ["pair-rows-pool-chunks"] = s => B(new(4, 38, 1), s, 0.5).InputConv(512, 1, 1, 0).BnSign().Conv(70).Pool(2, 2).BnSign()
            .Conv(65).BnSign().Pool(2, 1).Flatten().Dense(3).Build("pool-chunks"),
        // pair rows with 4×4 windows (8 pixel pairs each: one window per chunk)
        ["pair-rows-pool4"] = s => B(new(6, 22, 1), s, 0.5).InputConv(256, 1, 1, 0).BnSign().Conv(64).Pool(4, 2).BnSign().Flatten().Dense(3).Build("pool4"),
        // 1x1 image through 3x3 kernels (padding only), 129 channels
        ["image-1x1"] = s => B(new(1, 1, 3), s).InputConv(65).BnSign().Conv(129).BnSign().Flatten().Dense(10).Build("one-pixel"),
    };

    /// <summary>Saturation check: all-255 pixels against all-+1 (and all-−1) weights give the largest sums an int16
    /// chunk of 64 pixel pairs can hold (±32640).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void ImageLayerExtremeSums(int sign)
    {
        var m = B(new(9, 9, 4), 3).InputConv(70, 7, 1, 3).BnSign().Flatten().Dense(3).Build("extreme");
        var conv = (InputConv2d)m.Layers[0];
        var layers = m.Layers.ToArray();
        layers[0] = conv with { Weights = conv.Weights.Select(_ => (sbyte)sign).ToArray() };
        // thresholds around the extreme sums, so that the output depends on them being exact
        var bn = (BatchNormSign)layers[1];
        double extreme = 255.0 * 196 * sign;
        layers[1] = new BatchNormSign(bn.Params with
        {
            Gamma = bn.Params.Gamma.Select(_ => 1.0).ToArray(), Beta = bn.Params.Beta.Select(_ => 0.0).ToArray(),
            Mean = bn.Params.Mean.Select((_, c) => extreme + (c % 5 - 2)).ToArray(), Variance = bn.Params.Variance.Select(_ => 1.0).ToArray(),
        });
        var model = new BnnModel("extreme", m.InputShape, layers);
        var images = Enumerable.Repeat((byte)255, (int)(2 * model.InputShape.Elements)).ToArray();
        foreach (var config in HepBnn.Ops.ConfigurationRegistry.Cpu)
            if (HepBnn.Ops.BlockCompiler.Compile(model).All(config.Supports)) CpuChecks.Session(model, config.Name, 2, 3, images);
    }

    static ModelBuilder B(Shape3 input, int seed, double negativeGamma = 0.2) => new(input, seed) { NegativeGammaFraction = negativeGamma };

    public static TheoryData<string> CaseNames() => [.. Cases.Keys];

    /// <summary>Every patch length the carry-save trees treat differently: each leftover 1..15 (the seeded counters:
    /// 1-, 2-, 4- and 8-word parts in every combination) with no 16-word block, one block (its carry counted as a
    /// weight-16 counter) and two or more (the sixteens popcount); dense inputs and 1×1 convs of L words, batch 2, then a 3×3 conv
    /// with 2 words per tap (18-word patches) at odd width (pixel pairs + a single pixel).</summary>
    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)] [InlineData(6)] [InlineData(7)]
    [InlineData(8)] [InlineData(9)] [InlineData(10)] [InlineData(11)] [InlineData(12)] [InlineData(13)] [InlineData(14)]
    [InlineData(15)] [InlineData(16)] [InlineData(17)] [InlineData(18)] [InlineData(23)] [InlineData(31)] [InlineData(32)]
    [InlineData(33)] [InlineData(36)] [InlineData(47)] [InlineData(50)]
    public void EveryPatchLengthMatchesReference(int words)
    {
        for (int seed = 1; seed <= 2; seed++)
        {
            var dense = B(new(1, 1, 1), seed).InputConv(64 * words, 1, 1, 0).BnSign().Flatten().Dense(70).BnSign().Dense(5).Build($"dense-{words}");
            CpuChecks.AllConfigurations(dense, batch: 2, seed);
            // 1×1 conv on L words per pixel, 2×3 pixels: the two-pixel trees and a single pixel per row
            var conv = B(new(2, 3, 1), seed).InputConv(64 * words, 1, 1, 0).BnSign().Conv(70, 1, 1, 0).BnSign().Flatten().Dense(5).Build($"conv1x1-{words}");
            CpuChecks.AllConfigurations(conv, batch: 2, seed);
        }
        if (words == 18)
            CpuChecks.AllConfigurations(B(new(5, 5, 1), 3).InputConv(128).BnSign().Conv(67).BnSign().Flatten().Dense(5).Build("w2"), batch: 2, 3);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void EveryCpuConfigurationMatchesReference(string name)
    {
        for (int seed = 1; seed <= 2; seed++)
            CpuChecks.AllConfigurations(Cases[name](seed), batch: seed == 1 ? 1 : 3, seed);
    }
}
