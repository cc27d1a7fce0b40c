using System.Buffers.Binary;
using HepBnn.Formats.Datasets;

namespace HepBnn.Tests.Formats;

/// <summary>IDX (Fashion-MNIST) and CIFAR-10 binary readers on small generated files, and on corrupted ones: each
/// corruption gives one <see cref="HepBnnException"/> naming the problem, without allocating what the header claims.</summary>
public sealed class DatasetReaderTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-datasets-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] Idx(byte type, uint[] dims, byte[] data)
    {
        var b = new byte[4 + 4 * dims.Length + data.Length];
        b[2] = type;
        b[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(b, 4 + 4 * dims.Length);
        return b;
    }

    static byte[] Sequence(int n, int seed) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 + seed)).ToArray();

    [Fact]
    public void IdxImagesAndLabels()
    {
        var pixels = Sequence(3 * 4 * 5, 1);
        var images = Write("train-images-idx3-ubyte", Idx(8, [3, 4, 5], pixels));
        var labels = Write("train-labels-idx1-ubyte", Idx(8, [3], [9, 0, 4]));
        var set = IdxReader.Read(images, labels);
        Assert.Equal(new HepBnn.Model.Shape3(4, 5, 1), set.Shape);
        Assert.Equal(3, set.Count);
        Assert.Equal(pixels, set.Images);
        Assert.Equal(new byte[] { 9, 0, 4 }, set.Labels);
        Assert.Equal(pixels.Skip(20).Take(20), set.Image(1).ToArray());
    }

    public static TheoryData<string, byte[], string> BadIdxImages() => new()
    {
        { "empty file", [], "too short" },
        { "broken gzip", [0x1F, 0x8B, 8, 0, 0, 0, 0, 0], "gzip" },
        { "bad magic", [1, 2, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0], "not an IDX file" },
        { "float type", Idx(0x0D, [1, 1, 1], [0, 0, 0, 0]), "type 0x0D" },
        { "two dims", Idx(8, [2, 2], [1, 2, 3, 4]), "2 dimensions, expected 3" },
        { "truncated header", Idx(8, [1, 1, 1], [])[..10], "truncated header" },
        { "zero dim", Idx(8, [0, 28, 28], []), "dimension 0 is 0" },
        { "negative dim", Idx(8, [1, 0xFFFFFFFF, 1], [1]), "dimension 1 is 4294967295" },
        { "overflowing dims", Idx(8, [0x7FFFFFFF, 0x7FFFFFFF, 0x7FFFFFFF], [1, 2, 3]), "header claims 2147483647 x 2147483647 x 2147483647" },
        { "dims beyond the file", Idx(8, [60000, 28, 28], Sequence(100, 0)), "truncated" },
        { "truncated data", Idx(8, [2, 2, 2], Sequence(7, 0)), "truncated" },
        { "trailing bytes", Idx(8, [1, 2, 2], Sequence(5, 0)), "1 unexpected bytes" },
        { "huge side", Idx(8, [1, 1, 20000], Sequence(20000, 0)), "exceed 16384" },
    };

    [Theory]
    [MemberData(nameof(BadIdxImages))]
    public void HostileIdxImageFiles(string name, byte[] file, string message)
    {
        var images = Write(name.Replace(' ', '-'), file);
        var labels = Write("labels", Idx(8, [1], [0]));
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<HepBnnException>(() => IdxReader.Read(images, labels));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256 * 1024 + file.Length, $"{name}: allocated too much");
        Assert.Contains(message, e.Message);
        Assert.Contains(images, e.Message);
    }

    [Fact]
    public void IdxLabelProblems()
    {
        var images = Write("images", Idx(8, [2, 1, 1], [5, 6]));
        Assert.Contains("holds 2 images but", Assert.Throws<HepBnnException>(() => IdxReader.Read(images, Write("l3", Idx(8, [3], [0, 1, 2])))).Message);
        Assert.Contains("label 1 is 10", Assert.Throws<HepBnnException>(() => IdxReader.Read(images, Write("l10", Idx(8, [2], [0, 10])))).Message);
        Assert.Contains("1 dimensions, expected 3", Assert.Throws<HepBnnException>(() => IdxReader.Read(Write("swapped", Idx(8, [2], [0, 1])), images)).Message);
        Assert.Contains("cannot read", Assert.Throws<HepBnnException>(() => IdxReader.Read(images, Path.Combine(_dir, "missing"))).Message);
    }

    /// <summary>A CIFAR-10 record whose pixel (y, x) of channel c is (c·1024 + y·32 + x) · mul, mod 256.</summary>
    static byte[] CifarRecord(byte label, int mul)
    {
        var r = new byte[Cifar10Reader.RecordBytes];
        r[0] = label;
        for (int i = 0; i < Cifar10Reader.PixelBytes; i++) r[1 + i] = (byte)(i * mul);
        return r;
    }

    [Fact]
    public void CifarRecordsBecomeNhwcAcrossFiles()
    {
        var a = Write("data_batch_1.bin", [.. CifarRecord(3, 1), .. CifarRecord(9, 5)]);
        var b = Write("data_batch_2.bin", CifarRecord(0, 11));
        var set = Cifar10Reader.Read(a, b);
        Assert.Equal(new HepBnn.Model.Shape3(32, 32, 3), set.Shape);
        Assert.Equal(new byte[] { 3, 9, 0 }, set.Labels);
        int[] muls = [1, 5, 11];
        for (int n = 0; n < 3; n++)
        {
            var img = set.Image(n);
            for (int y = 0; y < 32; y += 7)
                for (int x = 0; x < 32; x += 5)
                    for (int c = 0; c < 3; c++)
                        Assert.Equal((byte)((c * 1024 + y * 32 + x) * muls[n]), img[(y * 32 + x) * 3 + c]);
        }
    }

    [Fact]
    public void CifarDirectoryLayout()
    {
        for (int i = 1; i <= 5; i++) Write($"data_batch_{i}.bin", CifarRecord((byte)i, i));
        Write("test_batch.bin", [.. CifarRecord(7, 2), .. CifarRecord(8, 3)]);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5 }, Cifar10Reader.ReadDirectory(_dir).Labels);
        Assert.Equal(new byte[] { 7, 8 }, Cifar10Reader.ReadDirectory(_dir, test: true).Labels);
    }

    [Fact]
    public void HostileCifarFiles()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        string Fails(params string[] paths) => Assert.Throws<HepBnnException>(() => Cifar10Reader.Read(paths)).Message;
        Assert.Contains("no CIFAR-10 batch files", Fails());
        Assert.Contains("0 bytes is not a whole number", Fails(Write("empty.bin", [])));
        Assert.Contains("3072 bytes is not a whole number", Fails(Write("short.bin", CifarRecord(1, 1)[..3072])));
        Assert.Contains("6147 bytes is not a whole number", Fails(Write("long.bin", [.. CifarRecord(1, 1), .. CifarRecord(2, 1), 0])));
        Assert.Contains("record 1 has label 10", Fails(Write("label.bin", [.. CifarRecord(1, 1), .. CifarRecord(10, 1)])));
        Assert.Contains("gzip", Fails(Write("broken.bin.gz", [0x1F, 0x8B, 8, 0, 0])));
        Assert.Contains("cannot read", Fails(Write("ok.bin", CifarRecord(1, 1)), Path.Combine(_dir, "data_batch_9.bin")));
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 * 1024 * 1024, "hostile files made the reader allocate too much");
    }
}
