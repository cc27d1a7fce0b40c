using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Ops;

/// <summary><c>cpu.mt-pixel-words</c> (one item per 64-channel word × pooled pixel): bit-exact against the reference on
/// random shapes — 2–4 output words, even pooling (the pair-rows path), odd pooling, none, strides — block by block and
/// as whole sessions inside one CPU region on 3 and 8 threads (8 oversubscribe this machine, so slices get stolen).</summary>
public class CpuPixelWordsTests
{
    const string Name = "cpu.mt-pixel-words";

    static BnnModel RandomModel(int seed) => MultiWordModels.Random(seed, "pixel-words");

    [Fact]
    public void SupportsOnlyBinaryBlocksOfSeveralWords()
    {
        var blocks = BlockCompiler.Compile(ModelZoo.Vgg7(1));
        var config = ConfigurationRegistry.Find(Name);
        foreach (var b in blocks)
            Assert.Equal(b.Input != BlockInput.Image && b.OutputShape.ChannelWords > 1 && HepBnn.Ops.Cpu.CpuBlockData.Fits(b), config.Supports(b));
        Assert.Contains(blocks, config.Supports); // conv2–conv6 and fc1
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)] [InlineData(6)]
    public void BlocksAndRegionMatchReference(int seed)
    {
        var model = RandomModel(seed);
        var config = ConfigurationRegistry.Find(Name);
        var blocks = BlockCompiler.Compile(model);
        using (var res = new ExecutionResources(3))
            foreach (var b in blocks)
                if (config.Supports(b)) BlockOracle.Check(model, b, config, res, batch: seed % 2 + 1, seed + b.Index);
        var plan = blocks.Select(b => config.Supports(b) ? Name : "cpu.mt-pixels").ToArray();
        foreach (var (batch, threads) in new[] { (1, 3), (3, 8) })
        {
            var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
            using var session = new InferenceSession(model, plan, new SessionOptions { MaxBatch = batch, CpuThreads = threads, CpuRegions = true });
            Assert.Equal(1, session.CpuSegments);
            var raw = new int[batch * session.ScoresPerImage];
            for (int repeat = 0; repeat < 3; repeat++)
            {
                session.Run(images, batch, raw);
                ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage,
                    $"seed {seed}, {model.Name}, batch {batch}, {threads} threads, run {repeat}");
            }
        }
    }
}
