using HepBnn.Model;

namespace HepBnn.Formats.Datasets;

/// <summary>
/// CIFAR-10 binary batches (<c>cifar-10-batches-bin/data_batch_1.bin</c> … <c>data_batch_5.bin</c>, <c>test_batch.bin</c>):
/// records of 1 label byte (0..9) and 3072 pixel bytes in CHW order (1024 red, 1024 green, 1024 blue, row-major 32×32),
/// converted to the engine's NHWC layout. Files may be gzip-compressed; their lengths are checked before the image array is allocated.
/// </summary>
public static class Cifar10Reader
{
    public const int Side = 32, Channels = 3, Classes = 10;
    public const int PixelBytes = Side * Side * Channels, RecordBytes = 1 + PixelBytes;
    public static Shape3 Shape => new(Side, Side, Channels);

    /// <summary>The five training batches, or the test batch, of an extracted <c>cifar-10-batches-bin</c> directory.
    /// Each file may be stored as <c>name.bin</c> or <c>name.bin.gz</c>.</summary>
    public static LabeledImages ReadDirectory(string directory, bool test = false) => Read(Files(directory, test));

    /// <summary>The files <see cref="ReadDirectory"/> reads, in order.</summary>
    public static string[] Files(string directory, bool test) =>
        test ? [Find(directory, "test_batch.bin")] : Enumerable.Range(1, 5).Select(i => Find(directory, $"data_batch_{i}.bin")).ToArray();

    /// <summary>The file itself if it exists, else its .gz, else the plain name (so the error names the expected file).</summary>
    static string Find(string directory, string name)
    {
        string plain = Path.Combine(directory, name);
        return File.Exists(plain) || !File.Exists(plain + ".gz") ? plain : plain + ".gz";
    }

    /// <summary>One or more batch files (raw or gzip-compressed), concatenated in the given order.</summary>
    public static LabeledImages Read(params string[] paths)
    {
        if (paths.Length == 0) throw new HepBnnException("no CIFAR-10 batch files given");
        var files = new byte[paths.Length][];
        long records = 0;
        for (int f = 0; f < paths.Length; f++)
        {
            // one file holds at most what one array can; the count of records is checked before the image array exists
            var data = files[f] = DatasetFile.ReadAll(paths[f], Array.MaxLength / PixelBytes * (long)RecordBytes);
            if (data.Length == 0 || data.Length % RecordBytes != 0)
                throw new HepBnnException($"{paths[f]}: {data.Length} bytes is not a whole number of {RecordBytes}-byte CIFAR-10 records (truncated or not a CIFAR-10 batch)");
            records += data.Length / RecordBytes;
        }
        if (records * PixelBytes > Array.MaxLength)
            throw new HepBnnException($"{records} CIFAR-10 records exceed the largest array .NET can allocate; read fewer files at once");
        var images = new byte[records * PixelBytes];
        var labels = new byte[records];
        long n = 0;
        for (int f = 0; f < paths.Length; f++)
        {
            var data = files[f];
            files[f] = null!; // let a large batch go before the next is converted
            int fileRecords = data.Length / RecordBytes;
            for (int r = 0; r < fileRecords; r++, n++)
            {
                var record = data.AsSpan(r * RecordBytes, RecordBytes);
                if (record[0] >= Classes)
                    throw new HepBnnException($"{paths[f]}: record {r} has label {record[0]}, CIFAR-10 labels are 0..9 (not a CIFAR-10 batch, or CIFAR-100)");
                labels[n] = record[0];
                ChwToHwc(record[1..], images.AsSpan((int)(n * PixelBytes), PixelBytes));
            }
        }
        return new LabeledImages(Shape, images, labels, Classes);
    }

    /// <summary>out[(y·32 + x)·3 + c] = in[c·1024 + y·32 + x]. Lengths checked once, then unchecked refs: with
    /// three bounds-checked span accesses per byte this conversion was ~1/3 of reading the gzip test set.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)] // 10,000 calls: no tier-0 loop
    internal static void ChwToHwc(ReadOnlySpan<byte> chw, Span<byte> hwc)
    {
        const int plane = Side * Side;
        if (chw.Length < PixelBytes || hwc.Length < PixelBytes) throw new ArgumentException("CIFAR-10 record shorter than 3072 bytes");
        ref byte r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(chw);
        ref byte o = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(hwc);
        for (int p = 0; p < plane; p++)
        {
            ref byte px = ref System.Runtime.CompilerServices.Unsafe.Add(ref o, 3 * p);
            px = System.Runtime.CompilerServices.Unsafe.Add(ref r, p);
            System.Runtime.CompilerServices.Unsafe.Add(ref px, 1) = System.Runtime.CompilerServices.Unsafe.Add(ref r, plane + p);
            System.Runtime.CompilerServices.Unsafe.Add(ref px, 2) = System.Runtime.CompilerServices.Unsafe.Add(ref r, 2 * plane + p);
        }
    }
}
