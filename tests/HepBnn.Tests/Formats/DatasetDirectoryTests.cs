using HepBnn.Formats.Datasets;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Formats;

/// <summary>Recognising the dataset format from a directory's files, and the real datasets where this machine has them
/// (skipped with the reason otherwise).</summary>
public sealed class DatasetDirectoryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-dsdir-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void DetectsIdxAndCifar()
    {
        string idx = Directory.CreateDirectory(Path.Combine(_dir, "idx")).FullName;
        File.WriteAllBytes(Path.Combine(idx, "t10k-images-idx3-ubyte.gz"), DatasetGzipTests.Gzip(DatasetGzipTests.Idx([2, 3, 3], new byte[18])));
        File.WriteAllBytes(Path.Combine(idx, "t10k-labels-idx1-ubyte"), DatasetGzipTests.Idx([2], [4, 7]));
        Assert.Equal(DatasetFormat.Idx, DatasetDirectory.Detect(idx));
        Assert.Equal(new byte[] { 4, 7 }, DatasetDirectory.Load(idx).Labels);
        Assert.Contains("train-images-idx3-ubyte", Assert.Throws<HepBnnException>(() => DatasetDirectory.Load(idx, train: true)).Message);

        string cifar = Directory.CreateDirectory(Path.Combine(_dir, "cifar")).FullName;
        var records = DatasetGzipTests.CifarRecords(2, 9);
        File.WriteAllBytes(Path.Combine(cifar, "test_batch.bin"), records);
        Assert.Equal(DatasetFormat.Cifar10, DatasetDirectory.Detect(cifar));
        Assert.Equal(new[] { records[0], records[Cifar10Reader.RecordBytes] }, DatasetDirectory.Load(cifar).Labels);
    }

    [Fact]
    public void BadDirectories()
    {
        Assert.Contains("does not exist", Assert.Throws<HepBnnException>(() => DatasetDirectory.Load(Path.Combine(_dir, "nope"))).Message);
        string file = Path.Combine(_dir, "file");
        File.WriteAllText(file, "x");
        Assert.Contains("is a file", Assert.Throws<HepBnnException>(() => DatasetDirectory.Load(file)).Message);
        Assert.Contains("holds neither IDX files", Assert.Throws<HepBnnException>(() => DatasetDirectory.Load(_dir)).Message);
        string half = Directory.CreateDirectory(Path.Combine(_dir, "half")).FullName;
        File.WriteAllBytes(Path.Combine(half, "t10k-images-idx3-ubyte"), DatasetGzipTests.Idx([1, 1, 1], [0]));
        Assert.Contains("no t10k-labels-idx1-ubyte", Assert.Throws<HepBnnException>(() => DatasetDirectory.Load(half)).Message);
    }

    [Fact]
    public void RealFashionMnist()
    {
        if (RealData.WhyMissing("fashion-mnist") is { } why) Assert.Skip(why);
        var test = DatasetDirectory.Load(RealData.FashionMnist()!);
        Assert.Equal(new HepBnn.Model.Shape3(28, 28, 1), test.Shape);
        Assert.Equal(10_000, test.Count);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, test.Labels.Count(l => l == c)));
        var train = DatasetDirectory.Load(RealData.FashionMnist()!, train: true);
        Assert.Equal(60_000, train.Count);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(6000, train.Labels.Count(l => l == c)));
        // the bundled sample is the first 500 official test images, byte for byte
        var sample = DatasetDirectory.Load(HepBnn.Model.ShippedModels.Find(HepBnn.Model.ShippedModels.FashionMnistSample)!);
        Assert.Equal(test.Batch(0, 500).ToArray(), sample.Images);
        Assert.Equal(test.Labels[..500], sample.Labels);
    }

    [Fact]
    public void RealCifar10()
    {
        if (RealData.WhyMissing("cifar10") is { } why) Assert.Skip(why);
        string dir = RealData.Cifar10()!;
        string file = File.Exists(Path.Combine(dir, "test_batch.bin")) ? Path.Combine(dir, "test_batch.bin") : Path.Combine(dir, "test_batch.bin.gz");
        // the md5 of the decompressed official file (../shared/data/README.md)
        Assert.Equal("803d5f7f4d78ea53de84dbe85f74fb6d",
            Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(DatasetFile.ReadAll(file, 1L << 30))));
        var test = DatasetDirectory.Load(dir);
        Assert.Equal(new HepBnn.Model.Shape3(32, 32, 3), test.Shape);
        Assert.Equal(10_000, test.Count);
        Assert.All(Enumerable.Range(0, 10), c => Assert.Equal(1000, test.Labels.Count(l => l == c)));
        var sample = DatasetDirectory.Load(HepBnn.Model.ShippedModels.Find(HepBnn.Model.ShippedModels.Cifar10Sample)!);
        Assert.Equal(test.Batch(0, 100).ToArray(), sample.Images);
        Assert.Equal(test.Labels[..100], sample.Labels);
    }
}
