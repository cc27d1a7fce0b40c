using HepBnn.Model;

namespace HepBnn.Formats.Datasets;

/// <summary>
/// CIFAR-10 binary batches (<c>cifar-10-batches-bin/data_batch_1.bin</c> … <c>data_batch_5.bin</c>, <c>test_batch.bin</c>):
/// records of 1 label byte (0..9) and 3072 pixel bytes in CHW order (1024 red, 1024 green, 1024 blue, row-major 32×32),
/// converted to the engine's NHWC layout. File lengths are checked before anything is allocated.
/// </summary>
public static class Cifar10Reader
{
    public const int Side = 32, Channels = 3, Classes = 10;
    public const int PixelBytes = Side * Side * Channels, RecordBytes = 1 + PixelBytes;
    public static Shape3 Shape => new(Side, Side, Channels);

    /// <summary>The five training batches, or the test batch, of an extracted <c>cifar-10-batches-bin</c> directory.</summary>
    public static LabeledImages ReadDirectory(string directory, bool test = false) =>
        Read(test ? [Path.Combine(directory, "test_batch.bin")]
                  : Enumerable.Range(1, 5).Select(i => Path.Combine(directory, $"data_batch_{i}.bin")).ToArray());

    /// <summary>One or more batch files, concatenated in the given order.</summary>
    public static LabeledImages Read(params string[] paths)
    {
        if (paths.Length == 0) throw new HepBnnException("no CIFAR-10 batch files given");
        var streams = new List<FileStream>();
        try
        {
            long records = 0;
            foreach (var path in paths)
            {
                var fs = DatasetFile.Open(path);
                streams.Add(fs);
                long length = fs.Length;
                if (length == 0 || length % RecordBytes != 0)
                    throw new HepBnnException(length >= 2 && IsGzipFile(fs, path)
                        ? $"{path}: file is gzip-compressed; extract the archive first"
                        : $"{path}: {length} bytes is not a whole number of {RecordBytes}-byte CIFAR-10 records (truncated or not a CIFAR-10 batch)");
                records += length / RecordBytes;
            }
            if (records * PixelBytes > Array.MaxLength)
                throw new HepBnnException($"{records} CIFAR-10 records exceed the largest array .NET can allocate; read fewer files at once");
            var images = new byte[records * PixelBytes];
            var labels = new byte[records];
            var chunk = new byte[RecordBytes * 256];
            long n = 0;
            for (int f = 0; f < paths.Length; f++)
            {
                var fs = streams[f];
                fs.Position = 0;
                long fileRecords = fs.Length / RecordBytes;
                for (long r = 0; r < fileRecords;)
                {
                    int take = (int)Math.Min(256, fileRecords - r);
                    DatasetFile.ReadExactly(fs, chunk.AsSpan(0, take * RecordBytes), paths[f]);
                    for (int i = 0; i < take; i++, r++, n++)
                    {
                        var record = chunk.AsSpan(i * RecordBytes, RecordBytes);
                        if (record[0] >= Classes)
                            throw new HepBnnException($"{paths[f]}: record {r} has label {record[0]}, CIFAR-10 labels are 0..9 (not a CIFAR-10 batch, or CIFAR-100)");
                        labels[n] = record[0];
                        ChwToHwc(record[1..], images.AsSpan((int)(n * PixelBytes), PixelBytes));
                    }
                }
            }
            return new LabeledImages(Shape, images, labels, Classes);
        }
        finally
        {
            foreach (var s in streams) s.Dispose();
        }
    }

    /// <summary>out[(y·32 + x)·3 + c] = in[c·1024 + y·32 + x].</summary>
    static void ChwToHwc(ReadOnlySpan<byte> chw, Span<byte> hwc)
    {
        const int plane = Side * Side;
        for (int p = 0; p < plane; p++)
        {
            hwc[3 * p] = chw[p];
            hwc[3 * p + 1] = chw[plane + p];
            hwc[3 * p + 2] = chw[2 * plane + p];
        }
    }

    static bool IsGzipFile(FileStream fs, string path)
    {
        Span<byte> head = stackalloc byte[2];
        fs.Position = 0;
        DatasetFile.ReadExactly(fs, head, path);
        return DatasetFile.IsGzip(head);
    }
}
