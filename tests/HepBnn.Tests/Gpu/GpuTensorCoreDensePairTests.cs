using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>The dense pair (<see cref="GpuTensorCoreDensePair"/>: a dense bits block and a dense scores block in one
/// tensor-core kernel, the last group of each row tile computing the scores) on ILGPU's CPU accelerator through the C#
/// MMA emulation, against the reference bit for bit: VGG3-like heads scaled down with partial channel tiles, scores in
/// one to four passes of two n-tiles, reductions of 1 to 9 steps (chunks of 8, partial last chunks), several row
/// tiles with a partial last one; one session run repeatedly with changing batches (the per-row-tile counters must be
/// back at zero after every run). Seeds are in every message.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreDensePairTests(CpuAcceleratorFixture fixture)
{
    /// <summary>Conv → pool → flatten → dense(<paramref name="hidden"/>) → dense(<paramref name="classes"/>) on a 6×6 input.</summary>
    static BnnModel Head(int channels, int hidden, int classes, int seed) => new ModelBuilder(new Shape3(6, 6, 1), seed)
        .InputConv(channels).Pool().BnSign()
        .Flatten().Dense(hidden).BnSign()
        .Dense(classes).ScoreBn()
        .Build($"dense-pair-{channels}-{hidden}-{classes}");

    /// <summary>The model's blocks, the first on cpu.scalar and the last two as one gpu.fused range with tensor-core stages.</summary>
    InferenceSession Session(BnnModel model, int maxBatch, out IReadOnlyList<Block> blocks, bool staged = false) =>
        FusedSessions.LastTwoFused(model, new GpuFused(true, stagedPairScores: staged), maxBatch, fixture.Resources, out blocks);

    static void AssertScores(BnnModel model, InferenceSession session, int batch, int seed, string what) =>
        ReferenceScores.AssertSession(model, session, batch, seed, what);

    [Theory]
    // channels (fc1's input words per pixel: 3×3 pooled pixels), fc1 channels, classes, model seed, batch, staged scores
    [InlineData(64, 130, 10, 1, 3, false)]     // fc1: 9 words (3 steps), 3 channel tiles (last partial); fc2: 3 words (1 step)
    [InlineData(128, 70, 3, 2, 40, false)]     // fc1: 18 words (5 steps), 2 tiles; 2 row tiles on the emulator (32 rows each), the last partial
    [InlineData(128, 70, 3, 2, 40, true)]      // the same with the scores staged and stored as one run per row tile
    [InlineData(64, 330, 17, 3, 5, false)]     // fc2: 6 words (2 steps), 17 classes: 3 n-tiles (two passes of the n-tile pair)
    [InlineData(64, 330, 17, 3, 5, true)]
    [InlineData(64, 2050, 64, 4, 2, false)]    // fc2: 33 words (9 steps: a chunk of 8 and a partial one), 64 classes (four passes)
    [InlineData(192, 64, 10, 5, 1, false)]     // fc1: 27 words (7 steps), one channel tile: every group is its row tile's last
    [InlineData(192, 64, 10, 5, 1, true)]
    public void DensePairMatchesReference(int channels, int hidden, int classes, int seed, int batch, bool staged)
    {
        var model = Head(channels, hidden, classes, seed);
        using var session = Session(model, batch, out var blocks, staged);
        int n = blocks.Count;
        Assert.Null(GpuTensorCoreDensePair.RangeRefusal([blocks[n - 2], blocks[n - 1]]));
        Assert.Equal([(n - 2, n - 1)], session.FusedRanges);
        // Other images for the two store paths: a device buffer reused from the other path's run must not hold the answer.
        AssertScores(model, session, batch, seed: 100 + seed + (staged ? 50 : 0), $"{model.Name} (model seed {seed}, staged scores {staged})");
    }

    [Fact]
    public void GpuFusedRunsADensePairAsOneTensorCoreKernel()
    {
        var blocks = BlockCompiler.Compile(Head(64, 130, 10, 7));
        using var pair = new GpuFused(true).PrepareRange([blocks[1], blocks[2]], 4, fixture.Resources);
        Assert.IsType<GpuDensePairRange>(pair);
        using var staged = new GpuFused(true, densePairs: false).PrepareRange([blocks[1], blocks[2]], 4, fixture.Resources);
        Assert.IsType<GpuFusedRange>(staged);
        using var simt = new GpuFused(false).PrepareRange([blocks[1], blocks[2]], 4, fixture.Resources);
        Assert.IsType<GpuFusedRange>(simt);
    }

    [Fact]
    public void RefusesWhatIsNotADensePair()
    {
        var blocks = BlockCompiler.Compile(Head(64, 130, 10, 8));
        Assert.Contains("not two blocks", GpuTensorCoreDensePair.RangeRefusal([blocks[2]]));
        Assert.Contains("conv1", GpuTensorCoreDensePair.RangeRefusal([blocks[0], blocks[1]]));        // an image conv, pooled
        Assert.Contains("not consecutive", GpuTensorCoreDensePair.RangeRefusal([blocks[2], blocks[1]]));
        var wide = BlockCompiler.Compile(Head(64, 130, 65, 8));
        Assert.Contains("65 classes", GpuTensorCoreDensePair.RangeRefusal([wide[1], wide[2]]));
        var three = BlockCompiler.Compile(new ModelBuilder(new Shape3(6, 6, 1), 9)
            .InputConv(64).Pool().BnSign().Flatten().Dense(70).BnSign().Dense(70).BnSign().Dense(10).ScoreBn().Build("three-dense"));
        Assert.Contains("not a dense block of bits to scores", GpuTensorCoreDensePair.RangeRefusal([three[1], three[2]]));
        // Per block it is no configuration at all.
        Assert.False(new GpuTensorCoreDensePair().Supports(blocks[1]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RepeatedRunsOfOneSessionStayExact(bool staged)
    {
        var model = Head(64, 130, 10, 11);
        using var session = Session(model, 40, out _, staged);
        foreach (var (batch, seed) in new[] { (40, 1), (1, 2), (33, 3), (40, 4) }) // 2, 1, 2, 2 row tiles on the emulator
            AssertScores(model, session, batch, seed + (staged ? 10 : 0), $"{model.Name} (model seed 11, staged scores {staged}), run after run");
    }

    [Fact]
    public void ScoresAreStagedOnlyWhereTheStageHoldsThem()
    {
        var blocks = BlockCompiler.Compile(Head(64, 130, 10, 12));
        var res = fixture.Resources;
        using var staged = (GpuDensePairRange)new GpuFused(true, stagedPairScores: true).PrepareRange([blocks[1], blocks[2]], 4, res);
        Assert.True(staged.StagedScores);
        using var direct = (GpuDensePairRange)new GpuFused(true, stagedPairScores: false).PrepareRange([blocks[1], blocks[2]], 4, res);
        Assert.False(direct.StagedScores);
        var p = new GpuBlockParams { RowStride = 12 };   // a 1-step patch: 64 × 12 units
        Assert.True(GpuTensorCoreDensePair.CanStage(p, new GpuBlockParams { TilePooled = 64, OutSample = 10 }));
        Assert.False(GpuTensorCoreDensePair.CanStage(p, new GpuBlockParams { TilePooled = 64, OutSample = 64 }));
    }
}
