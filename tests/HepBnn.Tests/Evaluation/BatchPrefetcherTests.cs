using HepBnn.Evaluation;
using HepBnn.Formats.Datasets;
using HepBnn.Model;
using HepBnn.Runtime;
using HepBnn.Tests.Formats;

namespace HepBnn.Tests.Evaluation;

/// <summary>The reader thread's batches: the same images in the same order as the set, whatever the batch size, depth
/// and limit; an error reaches the consumer after the batches before it; stopping early does not hang.</summary>
public sealed class BatchPrefetcherTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-prefetch-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static LabeledImages RandomSet(Shape3 shape, int count, int seed)
    {
        var r = new Random(seed);
        var images = new byte[count * shape.Elements];
        r.NextBytes(images);
        return new LabeledImages(shape, images, Enumerable.Range(0, count).Select(_ => (byte)r.Next(10)).ToArray(), 10);
    }

    [Theory]
    [InlineData(1, 1, null)]
    [InlineData(7, 1, null)]
    [InlineData(7, 3, 40)]
    [InlineData(16, 2, 5)]
    [InlineData(100, 4, null)]
    public void BatchesAreTheSetInOrder(int batch, int depth, int? limit)
    {
        var set = RandomSet(new Shape3(4, 3, 2), 53, batch * 10 + depth);
        int expected = Math.Min(53, limit ?? 53);
        using var p = new BatchPrefetcher(new InMemoryImageStream(set), batch, depth, limit);
        int next = 0;
        while (p.Next() is { } b)
        {
            Assert.Equal(next, b.Start);
            Assert.InRange(b.Count, 1, batch);
            Assert.True(set.Batch(next, b.Count).SequenceEqual(b.Images.AsSpan(0, b.Count * 24)), $"batch {batch} depth {depth}: images from {next} differ");
            Assert.True(set.Labels.AsSpan(next, b.Count).SequenceEqual(b.Labels.AsSpan(0, b.Count)));
            next += b.Count;
            p.Return(b);
        }
        Assert.Equal(expected, next);
        Assert.Null(p.Next());
    }

    /// <summary>The evaluation of a gzip CIFAR-10 file through the reader thread: the same predictions and confusion
    /// matrix as evaluating the set read whole, with a last partial batch and with --limit.</summary>
    [Fact]
    public void StreamedEvaluationEqualsInMemory()
    {
        var m = new ModelBuilder(new Shape3(32, 32, 3), 7).InputConv(16).Pool().BnSign().Flatten().Dense(10).ScoreBn().Build("tiny-cifar");
        var records = DatasetGzipTests.CifarRecords(45, 12);
        File.WriteAllBytes(Path.Combine(_dir, "test_batch.bin.gz"), DatasetGzipTests.Gzip(records));
        var whole = DatasetDirectory.Load(_dir);
        using var s = new InferenceSession(m, "cpu.simd256", new SessionOptions { MaxBatch = 8 });
        var expected = DatasetEvaluator.Evaluate(s, whole);
        foreach (var (depth, limit) in new[] { (1, (int?)null), (3, null), (2, 19) })
        {
            using var p = new BatchPrefetcher(DatasetDirectory.Open(_dir), 8, depth, limit);
            var progress = new List<int>();
            var got = DatasetEvaluator.Evaluate(s, p, "d", progress.Add);
            int n = limit ?? 45;
            Assert.Equal(expected.Predictions[..n], got.Predictions);
            Assert.Equal(whole.Labels[..n], got.Labels);
            Assert.Equal(n, got.Confusion.Total);
            Assert.Equal(n, progress[^1]);
            if (limit is null) Assert.Equal(expected.Confusion.Rows(), got.Confusion.Rows());
        }
    }

    /// <summary>A bad record in the second file: the first file's batches arrive, then the reader's own error.</summary>
    [Fact]
    public void ErrorArrivesAfterTheBatchesBeforeIt()
    {
        var good = DatasetGzipTests.CifarRecords(6, 1);
        var bad = DatasetGzipTests.CifarRecords(3, 2);
        bad[Cifar10Reader.RecordBytes] = 200;
        string a = Path.Combine(_dir, "a.bin"), b = Path.Combine(_dir, "b.bin");
        File.WriteAllBytes(a, good);
        File.WriteAllBytes(b, bad);
        using var p = new BatchPrefetcher(new Cifar10Stream(a, b), 3, 4);
        int seen = 0;
        var e = Assert.Throws<HepBnnException>(() => { while (p.Next() is { } x) { seen += x.Count; p.Return(x); } });
        Assert.Equal(6, seen);
        Assert.Contains("b.bin: record 1 has label 200", e.Message);
    }

    [Fact]
    public void LabelsBeyondTheModelFailClearly()
    {
        var m = new ModelBuilder(new Shape3(4, 3, 2), 3).InputConv(8).BnSign().Flatten().Dense(4).ScoreBn().Build("four");
        using var s = new InferenceSession(m, "cpu.scalar", new SessionOptions { MaxBatch = 4 });
        var set = new LabeledImages(m.InputShape, new byte[6 * 24], [0, 1, 2, 3, 3, 7], 10);
        using var p = new BatchPrefetcher(new InMemoryImageStream(set), 4, 2);
        var e = Assert.Throws<HepBnnException>(() => DatasetEvaluator.Evaluate(s, p, "d"));
        Assert.Contains("image 5 has label 7", e.Message);
        using var big = new BatchPrefetcher(new InMemoryImageStream(set), 5, 2);
        Assert.Contains("exceed the session's maximum batch 4", Assert.Throws<HepBnnException>(() => DatasetEvaluator.Evaluate(s, big, "d")).Message);
        using var wrong = new BatchPrefetcher(new InMemoryImageStream(RandomSet(new Shape3(4, 4, 2), 3, 1)), 2, 2);
        Assert.Contains("takes 4x3x2", Assert.Throws<HepBnnException>(() => DatasetEvaluator.Evaluate(s, wrong, "d")).Message);
    }

    /// <summary>A consumer that stops after one batch: Dispose stops the reader blocked on the full ring.</summary>
    [Fact]
    public void DisposeStopsABlockedReader()
    {
        var set = RandomSet(new Shape3(2, 2, 1), 1000, 5);
        var p = new BatchPrefetcher(new InMemoryImageStream(set), 2, 2);
        Assert.NotNull(p.Next());
        var t = Task.Run(p.Dispose);
        Assert.True(t.Wait(TimeSpan.FromSeconds(10)), "Dispose hung with the reader waiting for a free batch");
    }

    [Fact]
    public void BadArgumentsFailClearly()
    {
        var set = RandomSet(new Shape3(2, 2, 1), 4, 5);
        Assert.Contains("--limit 0", Assert.Throws<HepBnnException>(() => new BatchPrefetcher(new InMemoryImageStream(set), 2, 2, 0)).Message);
        Assert.Contains("batch 0", Assert.Throws<HepBnnException>(() => new BatchPrefetcher(new InMemoryImageStream(set), 0, 2)).Message);
        Assert.Contains("depth 0", Assert.Throws<HepBnnException>(() => new BatchPrefetcher(new InMemoryImageStream(set), 2, 0)).Message);
        Assert.Equal(42, BatchPrefetcher.DepthFor(new Shape3(32, 32, 3), 256)); // CIFAR-10's test set whole
        Assert.Equal(21, BatchPrefetcher.DepthFor(new Shape3(32, 32, 3), 256, 16L << 20));
        Assert.Equal(2, BatchPrefetcher.DepthFor(new Shape3(32, 32, 3), 100_000));
        Assert.Equal(64, BatchPrefetcher.DepthFor(new Shape3(2, 2, 1), 1));
    }
}
