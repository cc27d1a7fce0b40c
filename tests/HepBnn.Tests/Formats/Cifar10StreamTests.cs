using HepBnn.Formats.Datasets;

namespace HepBnn.Tests.Formats;

/// <summary>The streaming CIFAR-10 reader gives exactly what the whole-file reader gives, whatever the read sizes and
/// wherever they cross file boundaries, raw or gzip; damaged files fail with one error naming the file.</summary>
public sealed class Cifar10StreamTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-cifar-stream-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Everything the stream yields, read in chunks of random sizes (1..maxChunk images).</summary>
    internal static LabeledImages ReadAll(LabeledImageStream s, Random r, int maxChunk)
    {
        var images = new List<byte>();
        var labels = new List<byte>();
        long elements = s.Shape.Elements;
        while (true)
        {
            int want = r.Next(1, maxChunk + 1);
            var im = new byte[want * elements];
            var lb = new byte[want];
            int n = s.Read(im, lb);
            Assert.InRange(n, 0, want);
            images.AddRange(im[..(int)(n * elements)]);
            labels.AddRange(lb[..n]);
            if (n == 0) break;
        }
        return new LabeledImages(s.Shape, images.ToArray(), labels.ToArray(), s.Classes);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void StreamsWhatTheReaderReads(int seed)
    {
        var r = new Random(seed);
        var files = Enumerable.Range(0, 3).Select(f => DatasetGzipTests.CifarRecords(r.Next(1, 9), 100 * seed + f)).ToArray();
        var raw = files.Select((b, f) => Write($"raw{f}.bin", b)).ToArray();
        var gz = files.Select((b, f) => Write($"gz{f}.bin.gz", DatasetGzipTests.Gzip(b))).ToArray();
        var mixed = new[] { raw[0], gz[1], raw[2] };
        var expected = Cifar10Reader.Read(raw);
        foreach (var paths in new[] { raw, gz, mixed })
            for (int chunk = 1; chunk <= 7; chunk += 3)
            {
                using var s = new Cifar10Stream(paths);
                var got = ReadAll(s, new Random(seed * 31 + chunk), chunk);
                Assert.True(expected.Labels.SequenceEqual(got.Labels), $"seed {seed}, chunk ≤ {chunk}, {Path.GetFileName(paths[0])}…: labels differ");
                Assert.True(expected.Images.SequenceEqual(got.Images), $"seed {seed}, chunk ≤ {chunk}, {Path.GetFileName(paths[0])}…: images differ");
                Assert.Equal(0, s.Read(new byte[3072], new byte[1])); // stays at the end
            }
    }

    [Fact]
    public void DirectoryOpensTheTestBatch()
    {
        var test = DatasetGzipTests.CifarRecords(4, 9);
        Write("test_batch.bin.gz", DatasetGzipTests.Gzip(test));
        Write("data_batch_1.bin", DatasetGzipTests.CifarRecords(2, 8));
        using var s = DatasetDirectory.Open(_dir);
        var got = ReadAll(s, new Random(1), 3);
        Assert.Equal(Cifar10Reader.ReadDirectory(_dir, test: true).Images, got.Images);
        Assert.Equal(4, got.Count);
    }

    /// <summary>A gzip file cut anywhere never streams to its end without an error naming it.</summary>
    [Fact]
    public void TruncatedGzipFailsWhileStreaming()
    {
        var gz = DatasetGzipTests.Gzip(DatasetGzipTests.CifarRecords(6, 5));
        for (int cut = 1; cut < gz.Length; cut += Math.Max(1, gz.Length / 50))
        {
            string path = Write("cut.bin.gz", gz[..cut]);
            var e = Assert.Throws<HepBnnException>(() =>
            {
                using var s = new Cifar10Stream(path);
                ReadAll(s, new Random(cut), 4);
            });
            Assert.Contains(path, e.Message);
        }
    }

    [Fact]
    public void BadRecordsFailClearly()
    {
        var good = DatasetGzipTests.CifarRecords(3, 2);
        string shortRaw = Write("short.bin", good[..^1]);
        Assert.Contains("not a whole number", Assert.Throws<HepBnnException>(() => new Cifar10Stream(shortRaw)).Message);
        string shortGz = Write("short.bin.gz", DatasetGzipTests.Gzip(good[..^1]));
        var e = Assert.Throws<HepBnnException>(() => { using var s = new Cifar10Stream(shortGz); ReadAll(s, new Random(1), 5); });
        Assert.Contains("not a whole number", e.Message);
        Assert.Contains(shortGz, e.Message);
        var bad = (byte[])good.Clone();
        bad[2 * Cifar10Reader.RecordBytes] = 10;
        string badLabel = Write("label.bin", bad);
        e = Assert.Throws<HepBnnException>(() => { using var s = new Cifar10Stream(badLabel); ReadAll(s, new Random(1), 5); });
        Assert.Contains("record 2 has label 10", e.Message);
        Assert.Contains("no CIFAR-10 batch files", Assert.Throws<HepBnnException>(() => new Cifar10Stream()).Message);
        Assert.Contains("cannot read", Assert.Throws<HepBnnException>(() => new Cifar10Stream(Path.Combine(_dir, "missing.bin"))).Message);
        Assert.Contains("0 bytes", Assert.Throws<HepBnnException>(() => new Cifar10Stream(Write("empty.bin", []))).Message);
    }

    /// <summary>Streaming a file never holds it whole: the allocation is one chunk's records, not the file's.</summary>
    [Fact]
    public void MemoryIsBoundedByTheChunk()
    {
        string path = Write("big.bin.gz", DatasetGzipTests.Gzip(DatasetGzipTests.CifarRecords(400, 3)));
        var im = new byte[8 * Cifar10Reader.PixelBytes];
        var lb = new byte[8];
        using var s = new Cifar10Stream(path);
        s.Read(im, lb); // first read allocates the record buffer and the decompressor
        long before = GC.GetAllocatedBytesForCurrentThread();
        int total = 8;
        while (s.Read(im, lb) is int n and > 0) total += n;
        Assert.Equal(400, total);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 100 * Cifar10Reader.RecordBytes, $"streaming 400 records allocated {allocated} bytes");
    }
}
