using HepBnn.Tests.Support;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Runtime;

namespace HepBnn.Tests.Gpu;

/// <summary>GPU segments (runs of consecutive GPU blocks with one copy in, one copy out and one wait) on the ILGPU CPU
/// accelerator: the eager path that every machine without CUDA graphs takes, the cutting of plans into segments, changing
/// batches, and the reasons reported when graphs are not used. The captured-graph path itself needs a CUDA device and is
/// checked there (hepbnn verify and whole-plan runs against the reference).</summary>
[Collection(GpuCollection.Name)]
public class GpuSegmentTests(CpuAcceleratorFixture fixture)
{
    static void AssertScores(BnnModel model, InferenceSession session, byte[] images, int batch, string what)
    {
        var raw = new int[batch * session.ScoresPerImage];
        Array.Fill(raw, int.MinValue);
        session.Run(images.AsSpan(0, (int)(batch * model.InputShape.Elements)), batch, raw);
        ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage, $"{what}, batch {batch}");
    }

    InferenceSession Session(BnnModel model, string[] assignment, int maxBatch, bool? graphs) =>
        new(model, BlockCompiler.Compile(model), assignment.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = maxBatch, CudaGraphs = graphs }, fixture.Resources);

    [Fact]
    public void SeveralSegmentsAndChangingBatchesMatchReference()
    {
        for (int seed = 400; seed < 405; seed++)
        {
            var model = RandomNetworks.Generate(seed);
            var blocks = BlockCompiler.Compile(model);
            // Pairs of GPU blocks between CPU blocks: segments of one and of several blocks, starting and ending anywhere.
            var assignment = blocks.Select((b, i) => (i + seed) % 3 != 0 && GpuConfigurationTests.Cost(b, 3) <= 12_000
                ? GpuSessionTests.Rotate(b, i + seed) : "cpu.mt-batch").ToArray();
            var images = ModelZoo.RandomImages(model.InputShape, 3, seed);
            foreach (bool? graphs in new bool?[] { null, false })
            {
                using var session = Session(model, assignment, maxBatch: 3, graphs);
                foreach (int batch in new[] { 1, 3, 2, 3, 1 }) // every batch change is a new graph where graphs are used
                    AssertScores(model, session, images, batch, $"seed {seed}, graphs {graphs?.ToString() ?? "default"}, [{string.Join(", ", assignment)}]");
            }
        }
    }

    [Fact]
    public void ReportsWhyGraphsAreNotUsed()
    {
        var model = ModelZoo.Vgg3(2);
        using (var off = Session(model, ["gpu.thread-per-pixel", "gpu.thread-per-pixel", "cpu.scalar", "gpu.thread-per-output"], 1, false))
            Assert.StartsWith("eager launches: off", off.GpuExecution);
        using (var emulated = Session(model, ["gpu.thread-per-pixel", "gpu.thread-per-pixel", "cpu.scalar", "gpu.thread-per-output"], 1, true))
        {
            AssertScores(model, emulated, ModelZoo.RandomImages(model.InputShape, 1, 3), 1, "emulated GPU");
            Assert.Contains("CPU accelerator", emulated.GpuExecution);
        }
        using (var cpu = Session(model, ["cpu.scalar", "cpu.scalar", "cpu.scalar", "cpu.scalar"], 1, true))
            Assert.Equal("no GPU blocks", cpu.GpuExecution);
    }

    [Fact]
    public void CaptureOnTheCpuAcceleratorIsRefusedWithAReason()
    {
        var gpu = fixture.Resources.RequireGpu();
        bool ran = false;
        var graph = CudaGraph.TryCapture(gpu, () => ran = true, out var problem);
        Assert.Null(graph);
        Assert.False(ran);
        Assert.Contains("CPU accelerator", problem);
    }

    [Fact]
    public void HeldPageLocksSurviveEviction()
    {
        var locks = fixture.Resources.RequireGpu().PageLocks;
        var held = new HostBuffer(16);
        locks.Hold(held.Data);
        var others = Enumerable.Range(0, HostPageLocks.Capacity + 4).Select(_ => new HostBuffer(8)).ToList();
        foreach (var o in others) locks.ViewOf(o.Data);
        Assert.True(locks.IsRegistered(held.Data), "a held array was evicted");
        Assert.False(locks.IsRegistered(others[0].Data), "the least recently used unheld array should have been evicted");
        locks.Unhold(held.Data);
        foreach (var o in others) locks.ViewOf(o.Data);
        var more = Enumerable.Range(0, HostPageLocks.Capacity).Select(_ => new HostBuffer(8)).ToList();
        foreach (var o in more) locks.ViewOf(o.Data);
        Assert.False(locks.IsRegistered(held.Data), "an array no longer held should be evictable");
    }

    [Fact]
    public void SessionsInheritTheResourcesGraphSetting()
    {
        // HEPBNN_CUDA_GRAPHS=0 reaches sessions through ExecutionResources.CudaGraphs unless SessionOptions says otherwise,
        // including the sessions the verdict measures (PlanBenchmark with no per-plan setting).
        using var res = new ExecutionResources(1, GpuSelection.CpuAccelerator, cudaGraphs: false);
        var model = ModelZoo.Vgg3(2);
        var blocks = BlockCompiler.Compile(model);
        string[] plan = ["gpu.thread-per-pixel", "gpu.thread-per-pixel", "cpu.scalar", "gpu.thread-per-output"];
        var seen = new List<string>();
        PlanBenchmark.Samples(model, blocks, [plan, plan], 1, res, ModelZoo.RandomImages(model.InputShape, 1, 4), budgetMs: 0, minRounds: 1,
            maxRounds: 1, afterMeasuring: (_, s, _) => seen.Add(s.GpuExecution), cudaGraphs: [null, true]);
        Assert.StartsWith("eager launches: off", seen[0]);
        Assert.Contains("CPU accelerator", seen[1]); // asked for graphs: refused here for the device, not for the setting
    }
}
