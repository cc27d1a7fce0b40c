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
    ];

    public static TheoryData<int, int> Cases() => new() { { 0, 1 }, { 0, 5 }, { 1, 1 }, { 1, 3 }, { 2, 4 } };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OneRegionMatchesReferenceAndPerBlockForkJoins(int plan, int batch)
    {
        Assert.SkipUnless(System.Runtime.Intrinsics.X86.Avx2.IsSupported, "the plans use cpu.simd256, which needs AVX2");
        for (int seed = 1; seed <= 3; seed++)
        {
            var model = ModelZoo.Vgg3(seed);
            var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
            using var region = new InferenceSession(model, Plans[plan], new SessionOptions { MaxBatch = batch, CpuThreads = 3, CpuRegions = true });
            using var perBlock = new InferenceSession(model, Plans[plan], new SessionOptions { MaxBatch = batch, CpuThreads = 3, CpuRegions = false });
            Assert.Equal(1, region.CpuSegments);
            Assert.Equal(0, perBlock.CpuSegments);
            var a = new int[batch * region.ScoresPerImage];
            var b = new int[batch * region.ScoresPerImage];
            for (int repeat = 0; repeat < 3; repeat++)
            {
                region.Run(images, batch, a);
                perBlock.Run(images, batch, b);
                Assert.True(a.AsSpan().SequenceEqual(b), $"seed {seed}, plan {plan}, batch {batch}: region and per-block runs differ");
            }
            for (int n = 0; n < batch; n++)
            {
                var expected = ReferenceEngine.RawScores(model, images.AsSpan((int)(n * model.InputShape.Elements), (int)model.InputShape.Elements));
                for (int k = 0; k < expected.Length; k++)
                    Assert.True(expected[k] == a[n * region.ScoresPerImage + k], $"seed {seed}, plan {plan}: sample {n} class {k} expected {expected[k]} got {a[n * region.ScoresPerImage + k]}");
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
}
