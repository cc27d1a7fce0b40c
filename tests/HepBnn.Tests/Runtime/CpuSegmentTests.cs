using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;
namespace HepBnn.Tests.Runtime;

/// <summary>Runs of CPU blocks in one parallel region (<see cref="SessionOptions.CpuRegions"/>): same scores as the
/// reference and as one fork-join per block, with mixed thread caps and sequential blocks inside one region, and
/// from several threads sharing one worker pool.</summary>
public class CpuSegmentTests
{
    static readonly string[][] Plans =
    [
        ["cpu.mt-rows", "cpu.mt-pixels", "cpu.mt-channels", "cpu.mt-batch"],
        ["cpu.scalar", "cpu.mt-pixels-t4", "cpu.simd256", "cpu.mt-rows"],
        ["cpu.mt-batch", "cpu.scalar", "cpu.mt-pixels", "cpu.scalar"],
        ["cpu.mt-rows", "cpu.mt-tiles", "cpu.mt-dense-pairs", "cpu.mt-channels"], // fc1 in sample pairs (odd batches: one single)
    ];

    /// <summary>(plan, batch, pool threads): 8 and 16 threads on this 2-core CI machine oversubscribe it, so participants
    /// are descheduled mid-block and their slices get taken by others.</summary>
    public static TheoryData<int, int, int> Cases() => new()
    {
        { 0, 1, 3 }, { 0, 5, 3 }, { 1, 1, 3 }, { 1, 3, 3 }, { 2, 4, 3 }, { 0, 1, 8 }, { 1, 2, 16 }, { 2, 3, 8 },
        { 3, 1, 3 }, { 3, 5, 3 }, { 3, 16, 8 }, { 3, 2, 16 },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OneRegionMatchesReferenceAndPerBlockForkJoins(int plan, int batch, int threads)
    {
        Assert.SkipUnless(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "the plans use cpu.simd256, which needs AVX2");
        for (int seed = 1; seed <= 3; seed++)
        {
            var model = ModelZoo.Vgg3(seed);
            var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
            using var region = new InferenceSession(model, Plans[plan], new SessionOptions { MaxBatch = batch, CpuThreads = threads, CpuRegions = true });
            using var perBlock = new InferenceSession(model, Plans[plan], new SessionOptions { MaxBatch = batch, CpuThreads = threads, CpuRegions = false });
            Assert.Equal(1, region.CpuSegments);
            Assert.Equal(0, perBlock.CpuSegments);
            var a = new int[batch * region.ScoresPerImage];
            var b = new int[batch * region.ScoresPerImage];
            for (int repeat = 0; repeat < 3; repeat++)
            {
                region.Run(images, batch, a);
                perBlock.Run(images, batch, b);
                Assert.True(a.AsSpan().SequenceEqual(b), $"seed {seed}, plan {plan}, batch {batch}, {threads} threads: region and per-block runs differ");
            }
            for (int n = 0; n < batch; n++)
            {
                var expected = ReferenceEngine.RawScores(model, images.AsSpan((int)(n * model.InputShape.Elements), (int)model.InputShape.Elements));
                for (int k = 0; k < expected.Length; k++)
                    Assert.True(expected[k] == a[n * region.ScoresPerImage + k], $"seed {seed}, plan {plan}, {threads} threads: sample {n} class {k} expected {expected[k]} got {a[n * region.ScoresPerImage + k]}");
            }
        }
    }

    /// <summary>Sessions sharing one pool from several threads: one holds the workers, the others run their regions
    /// inline (one participant); all must finish with the right scores.</summary>
    [Fact]
    public void ConcurrentRegionsOnOnePool()
    {
        var model = ModelZoo.Vgg3(7);
        const int batch = 2;
        var images = ModelZoo.RandomImages(model.InputShape, batch, 7);
        using var resources = new HepBnn.Devices.ExecutionResources(3, HepBnn.Devices.GpuSelection.None);
        var compiled = HepBnn.Ops.CompiledModel.Of(model);
        var assignment = compiled.Blocks.Select(_ => HepBnn.Ops.ConfigurationRegistry.Find("cpu.mt-pixels")).ToArray();
        var expected = new int[batch * 10];
        using (var s = new InferenceSession(compiled, assignment, new SessionOptions { MaxBatch = batch, CpuRegions = true }, resources)) s.Run(images, batch, expected);
        var tasks = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            using var s = new InferenceSession(compiled, assignment, new SessionOptions { MaxBatch = batch, CpuRegions = true }, resources);
            var raw = new int[batch * s.ScoresPerImage];
            for (int i = 0; i < 50; i++)
            {
                s.Run(images, batch, raw);
                Assert.True(raw.AsSpan().SequenceEqual(expected));
            }
        }, TestContext.Current.CancellationToken)).ToArray();
        Assert.True(Task.WaitAll(tasks, TimeSpan.FromSeconds(120)), "concurrent regions did not finish (deadlock?)");
    }

    /// <summary>A block of fake items that records, per run, which items ran how often, checks that every item of the
    /// previous block was done before any of its own started, and can fail or stall at one item.</summary>
    sealed class Recording(int units, int maxThreads, Recording? previous) : HepBnn.Ops.Cpu.ICpuRegionWork
    {
        public int[] Hits = new int[units];
        public volatile string? Problem;
        public int FailAt = -1, StallAt = -1;
        public int Units(int batch) => units * batch;
        public int MaxThreads => maxThreads;
        public HepBnn.Ops.Block Block => throw new NotSupportedException();
        public HepBnn.Ops.IKernelConfiguration Configuration => throw new NotSupportedException();
        public void Bind(HepBnn.Devices.TensorBuffer? input, HepBnn.Devices.TensorBuffer? output) { }
        public void Run(HepBnn.Devices.TensorBuffer input, HepBnn.Devices.TensorBuffer output, int batch) => throw new NotSupportedException();
        public void Dispose() { }
        public void Execute(int index) => Problem = "Execute(int) called instead of Execute(int, int)";
        public void Execute(int index, int worker)
        {
            if (previous is not null && previous.Hits.Sum() != previous.Hits.Length) Problem = $"item {index} started before the previous block was done";
            if (worker < 0 || worker >= maxThreads) Problem = $"participant {worker} beyond the cap {maxThreads}";
            if (index == StallAt) Thread.Sleep(30); // a descheduled participant holding an item
            if (index == FailAt) throw new InvalidOperationException($"boom at {index}");
            Interlocked.Increment(ref Hits[index]);
        }
        public void Reset() => Hits = new int[Hits.Length];
    }

    static (CpuSegment Segment, Recording[] Blocks) Segment(HepBnn.Devices.CpuWorkerPool pool, params (int Units, int Cap)[] shape)
    {
        var blocks = new Recording[shape.Length];
        for (int i = 0; i < shape.Length; i++) blocks[i] = new Recording(shape[i].Units, shape[i].Cap, i > 0 ? blocks[i - 1] : null);
        var buffers = new HepBnn.Devices.TensorBuffer[shape.Length];
        return (new CpuSegment(0, blocks, buffers, buffers, pool), blocks);
    }

    /// <summary>Every item exactly once per run and blocks in order, for thread caps below, at and above the pool's size,
    /// item counts below the thread count, and a stalled item (its slice's other items are taken by other participants).</summary>
    /// <para>With <paramref name="park"/>, the workers park between runs (a pause beyond their hot time), so most
    /// helpers have not started when the caller reaches the first boundary: it takes their slices at once, and those that
    /// still have not started when the work is done skip the run.</para>
    /// <para><paramref name="steal"/>: participants take other slices' items as soon as their own are done (eager, the
    /// default), after 10 µs (fixed) or after half their own slice time (adaptive, 2–10 µs): every item once either way.</para>
    [Theory]
    [InlineData(2, false, HepBnn.Devices.StealPolicy.Eager)]
    [InlineData(5, false, HepBnn.Devices.StealPolicy.Eager)]
    [InlineData(16, false, HepBnn.Devices.StealPolicy.Eager)]
    [InlineData(5, true, HepBnn.Devices.StealPolicy.Eager)]
    [InlineData(16, true, HepBnn.Devices.StealPolicy.Eager)]
    [InlineData(5, false, HepBnn.Devices.StealPolicy.Fixed)]
    [InlineData(16, true, HepBnn.Devices.StealPolicy.Fixed)]
    [InlineData(5, false, HepBnn.Devices.StealPolicy.Adaptive)]
    [InlineData(16, false, HepBnn.Devices.StealPolicy.Adaptive)]
    [InlineData(16, true, HepBnn.Devices.StealPolicy.Adaptive)]
    public async Task EveryItemOncePerRunInBlockOrder(int poolThreads, bool park, HepBnn.Devices.StealPolicy steal)
    {
        var pool = new HepBnn.Devices.CpuWorkerPool(poolThreads);
        var (segment, blocks) = Segment(pool, (196, int.MaxValue), (49, 4), (1, int.MaxValue), (32, 8), (3, 1), (7, int.MaxValue));
        segment.Steal = steal;
        var runs = Task.Run(() =>
        {
            for (int run = 0; run < 40; run++)
            {
                foreach (var b in blocks) b.Reset();
                blocks[3].StallAt = run % 5 == 0 ? 5 : -1;
                if (park) Thread.Sleep(5); // > the workers' 2 ms hot time: they park
                segment.Run(1);
                for (int i = 0; i < blocks.Length; i++)
                {
                    Assert.True(blocks[i].Problem is null, $"pool {poolThreads}, park {park}, run {run}, block {i}: {blocks[i].Problem}");
                    Assert.True(blocks[i].Hits.All(h => h == 1), $"pool {poolThreads}, park {park}, run {run}, block {i}: hits {string.Join(",", blocks[i].Hits)}");
                }
            }
        }, TestContext.Current.CancellationToken);
        bool finished = await Task.WhenAny(runs, Task.Delay(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken)) == runs;
        if (finished) pool.Dispose(); // after a hang the pool is left behind (background threads): fail, don't hang
        Assert.True(finished, $"pool {poolThreads}: the region hung");
        await runs;
    }

    /// <summary>A failing item ends the region with one HepBnnException naming it (no participant left waiting), and
    /// the segment and pool run correctly afterwards.</summary>
    [Theory]
    [InlineData(3, 0)]
    [InlineData(8, 1)]
    [InlineData(8, 3)]
    public async Task AFailingItemStopsTheRegionAndTheSegmentRecovers(int poolThreads, int failingBlock)
    {
        var pool = new HepBnn.Devices.CpuWorkerPool(poolThreads);
        var (segment, blocks) = Segment(pool, (40, int.MaxValue), (16, int.MaxValue), (9, 2), (20, int.MaxValue));
        blocks[failingBlock].FailAt = 7;
        var run = Task.Run(() => Assert.Throws<HepBnnException>(() => segment.Run(1)), TestContext.Current.CancellationToken);
        if (await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken)) != run)
            Assert.Fail("the region hung after a failing item"); // the pool is left behind (background threads): fail, don't hang
        using var disposePool = pool;
        var error = await run;
        Assert.Contains("boom at 7", error.Message);
        Assert.IsType<InvalidOperationException>(error.InnerException);
        blocks[failingBlock].FailAt = -1;
        for (int again = 0; again < 5; again++)
        {
            foreach (var b in blocks) b.Reset();
            segment.Run(1);
            Assert.All(blocks, b => Assert.True(b.Problem is null && b.Hits.All(h => h == 1), $"after the failure: {b.Problem} hits {string.Join(",", b.Hits)}"));
        }
    }
}

/// <summary>HEPBNN_CPU_REGIONS and SessionOptions.CpuRegions: which sessions build CPU segments.</summary>
public class CpuRegionSwitchTests
{
    [Theory]
    [InlineData(null, true, true)]
    [InlineData("", false, false)]
    [InlineData(" On ", false, true)]
    [InlineData("1", false, true)]
    [InlineData("false", true, false)]
    [InlineData("0", true, false)]
    public void ParsesTheSwitch(string? value, bool fallback, bool expected) =>
        Assert.Equal(expected, HepBnn.Devices.ExecutionResources.ParseSwitch("HEPBNN_CPU_REGIONS", value, fallback));

    [Fact]
    public void ABadValueNamesTheVariable()
    {
        var e = Assert.Throws<HepBnnException>(() => HepBnn.Devices.ExecutionResources.ParseSwitch("HEPBNN_CPU_REGIONS", "maybe", true));
        Assert.Contains("HEPBNN_CPU_REGIONS", e.Message);
        Assert.Contains("maybe", e.Message);
    }

    /// <summary>Unset options follow the resources (on by default here unless the environment says otherwise); an
    /// explicit option wins either way.</summary>
    [Fact]
    public void OptionsOverrideTheResourcesDefault()
    {
        var model = ModelZoo.Vgg3(3);
        using var resources = new HepBnn.Devices.ExecutionResources(2, HepBnn.Devices.GpuSelection.None);
        var compiled = HepBnn.Ops.CompiledModel.Of(model);
        var plan = compiled.Blocks.Select(_ => HepBnn.Ops.ConfigurationRegistry.Find("cpu.mt-rows")).ToArray();
        using var byDefault = new InferenceSession(compiled, plan, new SessionOptions(), resources);
        Assert.Equal(resources.CpuRegions ? 1 : 0, byDefault.CpuSegments);
        using var on = new InferenceSession(compiled, plan, new SessionOptions { CpuRegions = true }, resources);
        Assert.Equal(1, on.CpuSegments);
        using var off = new InferenceSession(compiled, plan, new SessionOptions { CpuRegions = false }, resources);
        Assert.Equal(0, off.CpuSegments);
    }
}
