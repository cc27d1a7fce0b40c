using System.Buffers.Binary;
using System.IO.Compression;
using HepBnn.Formats.Datasets;

namespace HepBnn.Tests.Formats;

/// <summary>The official archives are gzip-compressed: IDX and CIFAR-10 files read the same raw or compressed, and a
/// damaged or hostile compressed file gives one clear error with a bounded allocation.</summary>
public sealed class DatasetGzipTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-gzip-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    internal static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true)) gz.Write(data);
        return ms.ToArray();
    }

    internal static byte[] Idx(uint[] dims, byte[] data)
    {
        var b = new byte[4 + 4 * dims.Length + data.Length];
        b[2] = 8;
        b[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(b, 4 + 4 * dims.Length);
        return b;
    }

    internal static byte[] CifarRecords(int count, int seed)
    {
        var r = new Random(seed);
        var b = new byte[count * Cifar10Reader.RecordBytes];
        r.NextBytes(b);
        for (int i = 0; i < count; i++) b[i * Cifar10Reader.RecordBytes] = (byte)r.Next(10);
        return b;
    }

    [Fact]
    public void IdxGzipReadsAsRaw()
    {
        var pixels = new byte[7 * 28 * 28];
        new Random(3).NextBytes(pixels);
        var images = Idx([7, 28, 28], pixels);
        var labels = Idx([7], [0, 9, 3, 3, 1, 5, 2]);
        var raw = IdxReader.Read(Write("i", images), Write("l", labels));
        var gz = IdxReader.Read(Write("i.gz", Gzip(images)), Write("l.gz", Gzip(labels)));
        Assert.Equal(raw.Images, gz.Images);
        Assert.Equal(raw.Labels, gz.Labels);
        Assert.Equal(pixels, gz.Images);
    }

    [Fact]
    public void CifarGzipReadsAsRawAndDirectoriesMix()
    {
        var a = CifarRecords(3, 1);
        var b = CifarRecords(2, 2);
        var raw = Cifar10Reader.Read(Write("a.bin", a), Write("b.bin", b));
        var gz = Cifar10Reader.Read(Write("a.bin.gz", Gzip(a)), Write("b.bin.gz", Gzip(b)));
        Assert.Equal(raw.Images, gz.Images);
        Assert.Equal(raw.Labels, gz.Labels);
        Write("test_batch.bin.gz", Gzip(b));
        Assert.Equal(raw.Labels[3..], Cifar10Reader.ReadDirectory(_dir, test: true).Labels);
    }

    /// <summary>A gzip file cut anywhere in its compressed data or trailer never reads as a valid dataset.</summary>
    [Fact]
    public void TruncatedGzipFails()
    {
        var labels = Write("labels", Idx([40], new byte[40]));
        var images = Idx([40, 8, 8], Enumerable.Range(0, 40 * 64).Select(i => (byte)(i * 37 % 251)).ToArray());
        var gz = Gzip(images);
        var cifar = Gzip(CifarRecords(4, 5));
        for (int cut = 1; cut < gz.Length; cut += Math.Max(1, gz.Length / 40))
        {
            string path = Write("cut-images.gz", gz[..cut]);
            var e = Assert.Throws<HepBnnException>(() => IdxReader.Read(path, labels));
            Assert.Contains(path, e.Message);
        }
        for (int cut = 1; cut < cifar.Length; cut += Math.Max(1, cifar.Length / 40))
        {
            string path = Write("cut.bin.gz", cifar[..cut]);
            Assert.Contains(path, Assert.Throws<HepBnnException>(() => Cifar10Reader.Read(path)).Message);
        }
    }

    /// <summary>A small file that expands beyond what the caller allows stops at the limit, not at the end of memory.</summary>
    [Fact]
    public void DecompressionIsBounded()
    {
        var bomb = Write("bomb.gz", Gzip(new byte[8 << 20]));
        Assert.True(new FileInfo(bomb).Length < 64 * 1024);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<HepBnnException>(() => DatasetFile.ReadAll(bomb, 1 << 20));
        Assert.Contains("limit of 1048576", e.Message);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 3 << 20, "decompressed far past the limit");
        Assert.Equal(8 << 20, DatasetFile.ReadAll(bomb, 8 << 20).Length);
        Assert.Contains("exceed the limit", Assert.Throws<HepBnnException>(() => DatasetFile.ReadAll(Write("raw", new byte[100]), 99)).Message);
    }

    /// <summary>A gzip member of nothing: header, an empty final deflate block, CRC 0 and size 0.</summary>
    static readonly byte[] EmptyGzip = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    [Fact]
    public void GzipOfNothingOrGarbage()
    {
        Assert.Contains("holds no data", Assert.Throws<HepBnnException>(() => DatasetFile.ReadAll(Write("empty.gz", EmptyGzip), 1000)).Message);
        var garbage = Gzip(new byte[1000]);
        for (int i = 12; i < garbage.Length - 8; i++) garbage[i] ^= 0x5A;
        var e = Assert.Throws<HepBnnException>(() => IdxReader.Read(Write("garbage.gz", garbage), Write("l", Idx([1], [0]))));
        Assert.Contains("garbage.gz", e.Message);
    }
}
