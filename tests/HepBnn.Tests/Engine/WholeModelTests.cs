using HepBnn.Model;
using HepBnn.Runtime;

namespace HepBnn.Tests.Engine;

/// <summary>Whole networks through <see cref="InferenceSession"/> against the reference on the raw integer scores.</summary>
public class WholeModelTests
{
    static void AssertSessionMatchesReference(BnnModel model, string config, int batch, int seed) =>
        Support.CpuChecks.Session(model, config, batch, seed);

    [Theory]
    [InlineData("cpu.scalar")]
    [InlineData("cpu.mt-rows")]
    [InlineData("cpu.mt-channels")]
    [InlineData("cpu.mt-batch")]
    public void Vgg3MatchesReference(string config) => AssertSessionMatchesReference(ModelZoo.Vgg3(3), config, batch: 3, seed: 5);

    [Theory]
    [InlineData("cpu.mt-rows")]
    [InlineData("cpu.mt-batch")]
    public void Vgg7MatchesReference(string config) => AssertSessionMatchesReference(ModelZoo.Vgg7(3), config, batch: 2, seed: 6);

    [Fact]
    public void RandomNetworksMatchReferenceEndToEnd()
    {
        for (int seed = 100; seed < 130; seed++)
            AssertSessionMatchesReference(RandomNetworks.Generate(seed), "cpu.mt-channels", batch: 2, seed);
    }

    [Fact]
    public void Vgg3ActivationsAreBalanced()
    {
        // Random BN statistics must keep activations informative, else bit-exactness tests would compare constant outputs.
        var model = ModelZoo.Vgg3(3);
        var images = ModelZoo.RandomImages(model.InputShape, 8, 1);
        using var session = new InferenceSession(model, "cpu.mt-batch", new SessionOptions { MaxBatch = 8 });
        var raw = new int[8 * session.ScoresPerImage];
        session.Run(images, 8, raw);
        Assert.True(raw.Distinct().Count() > 20, "scores are nearly constant: random BN statistics are degenerate");
    }
}
