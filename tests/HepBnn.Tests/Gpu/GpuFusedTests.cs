using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.fused (consecutive blocks in one kernel launch, stages separated by a grid-wide barrier) on the ILGPU CPU
/// accelerator: whole networks and ranges that start and end mid-network, against the reference, bit for bit. The
/// per-block case (a range of one block) runs in GpuConfigurationTests with every other GPU configuration.</summary>
[Collection(GpuCollection.Name)]
public class GpuFusedTests(CpuAcceleratorFixture fixture)
{
    /// <summary>VGG7's pattern on 4×4×3 with fewer channels: two-word channel tensors, two conv blocks per pooling step
    /// (small: the emulator runs warp-per-output stages thread by thread).</summary>
    static BnnModel Vgg7Like(int seed) => new ModelBuilder(new Shape3(4, 4, 3), seed)
        .InputConv(64).BnSign()
        .Conv(64).Pool().BnSign()
        .Conv(128).BnSign()
        .Conv(128).Pool().BnSign()
        .Flatten().Dense(128).BnSign()
        .Dense(10).ScoreBn()
        .Build("tiny-vgg7");

    /// <summary>A session of <paramref name="assignment"/> (configuration names); gpu.fused blocks run with tensor-core
    /// stages or SIMT stages only, as <paramref name="tensorCores"/> says.</summary>
    InferenceSession Session(BnnModel model, string[] assignment, int maxBatch, bool tensorCores, bool? graphs = null)
    {
        var fused = new GpuFused(tensorCores);
        return new(model, BlockCompiler.Compile(model), assignment.Select(n => GpuFused.Is(ConfigurationRegistry.Find(n)) ? fused : ConfigurationRegistry.Find(n)).ToArray(),
            new SessionOptions { MaxBatch = maxBatch, CudaGraphs = graphs }, fixture.Resources);
    }

    static void AssertScores(BnnModel model, InferenceSession session, int batch, int seed, string what) =>
        ReferenceScores.AssertSession(model, session, batch, seed, what);

    [Theory]
    [InlineData("tiny-vgg3", false)]
    [InlineData("tiny-vgg7", false)]
    [InlineData("tiny-vgg3", true)]
    [InlineData("tiny-vgg7", true)]
    public void WholeZooPatternNetworksFusedMatchReference(string which, bool tensorCores)
    {
        var model = which == "tiny-vgg3" ? TinyModels.Vgg3Like(11) : Vgg7Like(12);
        var blocks = BlockCompiler.Compile(model);
        int n = blocks.Count;
        // Every stage kind of the fused kernel is in these networks: image conv, warp-per-output convs, dense layers
        // (SIMT), or the byte and 1-bit tensor-core stages.
        var modes = blocks.Select((b, s) => GpuFusedRange.ModeOf(b, s, 2, tensorCores)).ToList();
        if (tensorCores) Assert.Equal([GpuFusedMode.TensorCoreImage, .. Enumerable.Repeat(GpuFusedMode.TensorCore, n - 1)], modes);
        else
        {
            Assert.Contains(GpuFusedMode.ThreadPerOutput, modes);
            Assert.Contains(GpuFusedMode.WarpPerOutput, modes);
            Assert.Contains(GpuFusedMode.WarpPerChannel, modes);
        }
        using var session = Session(model, Enumerable.Repeat(GpuFused.ConfigurationName, n).ToArray(), maxBatch: 2, tensorCores);
        Assert.Equal([(0, n - 1)], session.FusedRanges);
        foreach (int batch in new[] { 1, 2 })
            AssertScores(model, session, batch, seed: 30 + batch, which);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RandomNetworksWholeAndMidNetworkRangesMatchReference(bool tensorCores)
    {
        int ranges = 0, midStart = 0, midEnd = 0, warpStages = 0;
        for (int seed = 600; seed < 608; seed++)
        {
            var model = RandomNetworks.Generate(seed);
            var blocks = BlockCompiler.Compile(model);
            if (blocks.Any(b => GpuConfigurationTests.Cost(b, 2) > 40_000)) continue; // keep the emulation fast
            var rng = new Random(seed);
            int first = rng.Next(blocks.Count), last = rng.Next(first, blocks.Count);
            // The fused range between CPU blocks and another GPU configuration: segments that mix a fused range with
            // per-block kernels, and ranges that start and end anywhere.
            var assignment = blocks.Select((b, i) => i >= first && i <= last ? GpuFused.ConfigurationName
                : i % 2 == 0 ? "gpu.thread-per-output" : "cpu.scalar").ToArray();
            string what = $"[{string.Join(", ", assignment)}]";
            using (var session = Session(model, assignment, maxBatch: 3, tensorCores))
            {
                Assert.Contains((first, last), session.FusedRanges);
                foreach (int batch in new[] { 1, 3 }) AssertScores(model, session, batch, seed, what);
            }
            using (var whole = Session(model, Enumerable.Repeat(GpuFused.ConfigurationName, blocks.Count).ToArray(), maxBatch: 2, tensorCores))
                AssertScores(model, whole, 2, seed, "whole network fused");
            ranges++;
            var kind = tensorCores ? GpuFusedMode.TensorCore : GpuFusedMode.WarpPerOutput;
            warpStages += blocks.Skip(first).Take(last - first + 1).Where((b, s) => GpuFusedRange.ModeOf(b, s, 3, tensorCores) == kind).Count()
                + blocks.Where((b, s) => GpuFusedRange.ModeOf(b, s, 2, tensorCores) == kind).Count();
            if (first > 0) midStart++;
            if (last < blocks.Count - 1) midEnd++;
        }
        Assert.True(ranges >= 5 && midStart >= 2 && midEnd >= 2 && warpStages >= 2,
            $"only {ranges} networks ({midStart} ranges starting, {midEnd} ending mid-network, {warpStages} {(tensorCores ? "tensor-core" : "warp-per-output")} stages)");
    }

    /// <summary>Tensor-core stages whose reductions are split over the warps of a group (partial sums met in shared
    /// memory), a 4×4 pooling window, several channel tiles, dense and scores stages: batch 1 keeps the items few, so the
    /// split is taken even on the emulator's one small group. (2×2 windows: the zoo-pattern networks above.)</summary>
    [Fact]
    public void TensorCoreStagesWithSplitReductionsMatchReference()
    {
        // 4×4 input (the emulator runs every MMA as 12 warp-wide shuffles): two channel tiles on the byte MMA, a 4×4
        // window (stride 2) over a 128-channel (two-word) patch in 5 steps, split over 2 warps at batch 1.
        var model = new ModelBuilder(new Shape3(4, 4, 3), 21)
            .InputConv(128).BnSign()
            .Conv(64).Pool(4).BnSign()
            .Flatten().Dense(64).BnSign()
            .Dense(10).ScoreBn()
            .Build("split-reductions");
        var blocks = BlockCompiler.Compile(model);
        using (var range = (GpuFusedRange)new GpuFused(true).PrepareRange(blocks, 1, fixture.Resources))
        {
            Assert.Equal([GpuFusedMode.TensorCoreImage, GpuFusedMode.TensorCore, GpuFusedMode.TensorCore, GpuFusedMode.TensorCore], range.Modes);
            Assert.Contains(range.Splits, s => s > 1);
        }
        using var session = Session(model, Enumerable.Repeat(GpuFused.ConfigurationName, blocks.Count).ToArray(), maxBatch: 1, tensorCores: true);
        foreach (int seed in new[] { 5, 6 }) AssertScores(model, session, 1, seed, "split reductions");
        // The same blocks after a CPU first block, and ending before a per-block GPU kernel.
        var mid = blocks.Select((_, i) => i == 0 ? "cpu.scalar" : i == blocks.Count - 1 ? "gpu.thread-per-output" : GpuFused.ConfigurationName).ToArray();
        using var midSession = Session(model, mid, maxBatch: 2, tensorCores: true);
        Assert.Contains((1, blocks.Count - 2), midSession.FusedRanges);
        foreach (int batch in new[] { 1, 2 }) AssertScores(model, midSession, batch, 40 + batch, "mid-network range");
    }

    /// <summary>The registry's gpu.fused picks the stage kind per range (GpuFusedMma.Pays, from the H200 measurements):
    /// SIMT stages for VGG3 at batch 1 (short chains), tensor cores for VGG7 at batch 1 (its 128–512-channel convs) and
    /// for every range at batch ≥ 2; explicit instances and HEPBNN_FUSED_MMA override it.</summary>
    [Fact]
    public void StageKindPerRangeFollowsTheMeasuredRule()
    {
        var vgg3 = BlockCompiler.Compile(ModelZoo.Vgg3());
        var vgg7 = BlockCompiler.Compile(ModelZoo.Vgg7());
        Assert.False(GpuFusedMma.Pays(vgg3, 1));
        Assert.True(GpuFusedMma.Pays(vgg3, 16));
        Assert.True(GpuFusedMma.Pays(vgg7, 1));
        Assert.False(GpuFusedMma.Pays([vgg7[^1]], 1));   // VGG7's fc2 alone: 16 words
        Assert.True(GpuFusedMma.Pays([vgg7[1]], 1));     // VGG7's conv2: 9 taps × 2 words × 4 window positions
        if (Environment.GetEnvironmentVariable("HEPBNN_FUSED_MMA") is null) Assert.Null(new GpuFused().TensorCoreStages);
        Assert.True(new GpuFused(true).TensorCoreStages);
        Assert.False(new GpuFused(false).TensorCoreStages);
        var tiny = BlockCompiler.Compile(TinyModels.Vgg3Like(3));
        using var b1 = (GpuFusedRange)new GpuFused(null).PrepareRange(tiny, 1, fixture.Resources);
        using var b2 = (GpuFusedRange)new GpuFused(null).PrepareRange(tiny, 2, fixture.Resources);
        if (Environment.GetEnvironmentVariable("HEPBNN_FUSED_MMA") is null)
        {
            Assert.False(b1.TensorCoreStages);
            Assert.DoesNotContain(b1.Modes, m => m >= GpuFusedMode.TensorCore);
            Assert.True(b2.TensorCoreStages);
            Assert.All(b2.Modes, m => Assert.True(m >= GpuFusedMode.TensorCore));
        }
    }

    /// <summary>A range longer than the stage table the kernel keeps in shared memory (GpuFusedKernel.CachedStages): the
    /// stages past it read their entry from global memory. Both stage kinds, one whole-network range.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void RangesLongerThanTheCachedStageTableMatchReference(bool tensorCores)
    {
        var builder = new ModelBuilder(new Shape3(2, 2, 3), 23).InputConv(64).BnSign();
        for (int i = 0; i < GpuFusedKernel.CachedStages + 2; i++) builder = builder.Conv(64, kernel: 1, padding: 0).BnSign();
        var model = builder.Flatten().Dense(10).ScoreBn().Build("long-range");
        var blocks = BlockCompiler.Compile(model);
        Assert.True(blocks.Count > GpuFusedKernel.CachedStages);
        using var session = Session(model, Enumerable.Repeat(GpuFused.ConfigurationName, blocks.Count).ToArray(), maxBatch: 1, tensorCores);
        Assert.Equal([(0, blocks.Count - 1)], session.FusedRanges);
        AssertScores(model, session, 1, 24, $"{blocks.Count}-stage range, tensor cores {tensorCores}");
    }

    [Fact]
    public void GridNeverExceedsTheResidentGroups()
    {
        var blocks = BlockCompiler.Compile(TinyModels.Vgg3Like(3));
        using var range = (GpuFusedRange)new GpuFused().PrepareRange(blocks, 64, fixture.Resources);
        Assert.Equal(blocks.Count - 1, range.Block.Index);
        var res = fixture.Resources.Gpu!.Accelerator;
        Assert.InRange(range.MaxGroups, 1, res.NumMultiprocessors * GpuFusedRange.MaxGroupsPerMultiprocessor);
        foreach (int batch in new[] { 1, 7, 64 })
            Assert.InRange(range.LaunchFor(batch).GridDim.X, 1, range.MaxGroups);
    }

    [Fact]
    public void RefusesBlocksThatAreNotConsecutive()
    {
        var blocks = BlockCompiler.Compile(TinyModels.Vgg3Like(3));
        var e = Assert.Throws<HepBnnException>(() => new GpuFused().PrepareRange([blocks[0], blocks[2]], 1, fixture.Resources));
        Assert.Contains("cannot be fused", e.Message);
    }
}
