using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Runtime;
using HepBnn.Tests.Support;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Tests.Gpu;

/// <summary>The GEMV pair (<see cref="GpuGemvPair"/>: a dense bits block and a dense scores block in one GEMV kernel, the
/// last group of each sample computing its scores) on ILGPU's CPU accelerator, as whole sessions against the reference
/// bit for bit: randomized heads (channels not multiples of 8, rows of several chunks, classes not multiples of 8), and
/// one session run repeatedly with changing batches (the per-sample counters must be back at zero after every run).
/// Seeds are in every message.</summary>
[Collection(GpuCollection.Name)]
public class GpuGemvPairTests(CpuAcceleratorFixture fixture)
{
    /// <summary>The head's first block on cpu.scalar, the dense pair as one gpu.fused range of the registry's kind (stage
    /// kind decided per range, so small batches take the GEMV pair).</summary>
    InferenceSession Session(BnnModel model, int maxBatch) => FusedSessions.LastTwoFused(model, new GpuFused(), maxBatch, fixture.Resources, out _);

    static void AssertScores(BnnModel model, InferenceSession session, int batch, int seed, string what) =>
        ReferenceScores.AssertSession(model, session, batch, seed, what);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void RandomHeadsMatchReference(int seed)
    {
        var rng = new Random(seed);
        int channels = rng.Next(1, 700), hidden = rng.Next(1, 200), classes = rng.Next(1, 80), batch = rng.Next(1, 17);
        var model = GpuGemvTests.Head(channels, hidden, classes, seed);
        using var session = Session(model, batch);
        int n = session.Blocks.Count;
        Assert.Equal([(n - 2, n - 1)], session.FusedRanges);
        AssertScores(model, session, batch, 200 + seed, $"{model.Name} (model seed {seed})");
    }

    [Theory]
    [InlineData(500, 70, 13, 31)]   // 72-word rows: two chunks on the emulator; 13 classes: one tail pass of 4 lanes each
    [InlineData(130, 20, 70, 32)]   // 70 classes > 64 threads: two tail passes of one lane per class
    public void RepeatedRunsOfOneSessionStayExact(int channels, int hidden, int classes, int modelSeed)
    {
        var model = GpuGemvTests.Head(channels, hidden, classes, modelSeed);
        using var session = Session(model, 16);
        foreach (var (batch, seed) in new[] { (16, 1), (1, 2), (7, 3), (16, 4), (2, 5) })
            AssertScores(model, session, batch, seed, $"{model.Name} (model seed {modelSeed}), run after run");
    }

    [Fact]
    public void GpuFusedTakesTheGemvPairOnlyAtSmallBatchAndUndecidedStages()
    {
        var blocks = BlockCompiler.Compile(GpuGemvTests.Head(64, 130, 10, 32));
        var res = fixture.Resources;
        using (var small = new GpuFused().PrepareRange([blocks[1], blocks[2]], GpuGemvPair.MaxBatch, res)) Assert.IsType<GpuGemvPairRange>(small);
        using (var large = new GpuFused().PrepareRange([blocks[1], blocks[2]], GpuGemvPair.MaxBatch + 1, res)) Assert.IsNotType<GpuGemvPairRange>(large);
        using (var forced = new GpuFused(true).PrepareRange([blocks[1], blocks[2]], 1, res)) Assert.IsType<GpuDensePairRange>(forced);
        Assert.True(GpuGemvPair.Takes([blocks[1], blocks[2]], 1));
        Assert.False(GpuGemvPair.Takes([blocks[1], blocks[2]], GpuGemvPair.MaxBatch + 1));
    }

    [Fact]
    public void ConstantPairPtxHasBothBlocksShapesFolded()
    {
        // VGG7's head at batch 1 as the H200 launches it (4 warps: 16 lanes per fc1 channel, 8 per class in the tail),
        // compiled here for sm_90 (no GPU needed); on CUDA, PrepareRange compiles this constant kernel for the prepared batch.
        var model = new ModelBuilder(new Shape3(4, 4, 3), 41).InputConv(512).BnSign().Flatten().Dense(1024).BnSign().Dense(10).ScoreBn().Build("vgg7-head");
        var blocks = BlockCompiler.Compile(model);
        var p = GpuBlockParams.From(blocks[1]) with { Lanes = 16, OutSample = 16 };
        var q = GpuBlockParams.From(blocks[2]) with { Lanes = GpuGemvPair.TailLanes(10, 128), InSample = 16 };
        var method = typeof(GpuGemvPair).GetMethod("PairKernel", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic)!;
        using var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        string generic = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty)).PTXAssembly;
        string constant = GpuConstantKernel.Compile(backend, method, KernelSpecialization.Empty, [p, q], unroll: false).PTXAssembly;
        var (g, c) = (GpuConstantShapesTests.Counts(generic), GpuConstantShapesTests.Counts(constant));
        if (Environment.GetEnvironmentVariable("HEPBNN_TEST_PTX_DIR") is { Length: > 0 } dir)
        {
            File.WriteAllText(Path.Combine(dir, "gemv-pair.ptx"), generic);
            File.WriteAllText(Path.Combine(dir, "gemv-pair-const.ptx"), constant);
        }
        Assert.True(g.Divisions > 0, $"the run-time-shape pair divides by shapes: {g}");
        Assert.Equal(0, c.Divisions);
        Assert.True(c.Instructions < g.Instructions, $"constant {c} vs run-time {g}");
        Assert.Throws<HepBnnException>(() => GpuConstantKernel.Compile(backend, method, KernelSpecialization.Empty, [p, 1], unroll: false));
    }

    [Theory]
    [InlineData(10, 128, 8)]   // VGG's 10 classes in CUDA's 128 threads: one pass of 8 lanes each
    [InlineData(10, 64, 4)]    // the emulator's 64 threads
    [InlineData(1, 64, 32)]
    [InlineData(64, 64, 1)]
    [InlineData(100, 64, 1)]   // more classes than threads: passes of one lane per class
    public void TailLanesMakeTheClassesOnePassWhereTheyFit(int classes, int threads, int lanes) =>
        Assert.Equal(lanes, GpuGemvPair.TailLanes(classes, threads));

    [Fact]
    public void RefusesWhatIsNotAGemvPair()
    {
        var blocks = BlockCompiler.Compile(GpuGemvTests.Head(64, 130, 10, 33));
        Assert.Contains("not two blocks", GpuGemvPair.RangeRefusal([blocks[2]]));
        Assert.Contains("not consecutive", GpuGemvPair.RangeRefusal([blocks[2], blocks[1]]));
        Assert.Contains("conv1: not a dense block", GpuGemvPair.RangeRefusal([blocks[0], blocks[1]]));
        var three = BlockCompiler.Compile(new ModelBuilder(new Shape3(6, 6, 1), 34)
            .InputConv(64).Pool().BnSign().Flatten().Dense(70).BnSign().Dense(70).BnSign().Dense(10).ScoreBn().Build("three-dense"));
        Assert.Contains("does not output scores", GpuGemvPair.RangeRefusal([three[1], three[2]]));
        var e = Assert.Throws<HepBnnException>(() => GpuGemvPair.PrepareRange(new GpuFused(), fixture.Resources.RequireGpu(), [blocks[1], blocks[2]], GpuGemvPair.MaxBatch + 1));
        Assert.Contains("1..16", e.Message);
    }
}
