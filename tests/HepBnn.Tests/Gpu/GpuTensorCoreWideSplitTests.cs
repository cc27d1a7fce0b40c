using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Reference;
using HepBnn.Runtime;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.tensor-core-wide-split (the reduction split over groups, partial sums added in device scratch, the last
/// group's epilogue) against the reference, on ILGPU's CPU accelerator through the C# MMA emulation: the wide shapes
/// (3, 5, 13 and 12 steps split 3 ways: even and uneven shares; 1 step: one split, the deep kernel), and a whole small
/// VGG7-like network run several times on one session with changing batches and images — the scratch and counters must
/// be back at zero after every run.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreWideSplitTests(CpuAcceleratorFixture fixture)
{
    const string Name = "gpu.tensor-core-wide-split";

    [Theory]
    [MemberData(nameof(GpuTensorCoreTests.WideShapes), MemberType = typeof(GpuTensorCoreTests))]
    public void SplitBlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        GpuTensorCoreTests.CheckBlocks(fixture.Resources, Name, h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>C64 (8-bit, gpu.tensor-core) → C96 3×3 → MP2 → C130 3×3 (3 channel tiles, odd) → MP2 → FC70 → FC10; every
    /// binary block on the split kernel but the scores.</summary>
    static BnnModel Vgg7Like(int seed) => new ModelBuilder(new Shape3(8, 8, 3), seed)
        .InputConv(64, normalize: true).BnSign()
        .Conv(96).Pool().BnSign()
        .Conv(130).Pool().BnSign()
        .Flatten().Dense(70).BnSign()
        .Dense(10).ScoreBn()
        .Build("vgg7-like-split");

    [Fact]
    public void RepeatedRunsOfOneSessionStayExact()
    {
        var model = Vgg7Like(23);
        var blocks = BlockCompiler.Compile(model);
        var split = ConfigurationRegistry.Find(Name);
        var assignment = blocks.Select(b => split.Supports(b) ? split : ConfigurationRegistry.Find("gpu.tensor-core")).ToArray();
        Assert.Equal(4, assignment.Count(c => c == split));
        using var session = new InferenceSession(model, blocks, assignment, new SessionOptions { MaxBatch = 3, CudaGraphs = false }, fixture.Resources);
        int size = (int)model.InputShape.Elements;
        foreach (var (batch, seed) in new[] { (3, 1), (1, 2), (2, 3), (1, 2) })
        {
            var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
            var raw = new int[batch * session.ScoresPerImage];
            Array.Fill(raw, int.MinValue);
            session.Run(images, batch, raw);
            for (int n = 0; n < batch; n++)
            {
                var expected = ReferenceEngine.RawScores(model, images.AsSpan(n * size, size));
                for (int j = 0; j < expected.Length; j++)
                    Assert.True(expected[j] == raw[n * session.ScoresPerImage + j],
                        $"batch {batch}, image seed {seed}, sample {n}, class {j}: expected {expected[j]}, got {raw[n * session.ScoresPerImage + j]}");
            }
        }
    }

    [Fact]
    public void SplitsOnlyWhereTheyHelpAndFit()
    {
        var gpu = fixture.Resources.RequireGpu();
        var config = (GpuTensorCoreWideSplit)ConfigurationRegistry.Find(Name);
        var p = new GpuBlockParams { KSteps = 13, ScoresOutput = 0, PaddedK = 128, RowStride = 108 };
        Assert.Equal(3, config.Splits(p, rowTiles: 4, tiles: 2, gpu));
        Assert.Equal(2, config.Splits(p with { KSteps = 2 }, 4, 2, gpu));
        Assert.Equal(1, config.Splits(p with { KSteps = 1 }, 4, 2, gpu));           // nothing to split
        Assert.Equal(1, config.Splits(p with { ScoresOutput = 1 }, 4, 2, gpu));     // scores: the deep kernel
        Assert.Equal(1, config.Splits(p, GpuTensorCoreWideSplit.MaxEntries, 2, gpu)); // more tiles than the scratch holds
    }
}
