using HepBnn.Model;

namespace HepBnn.Formats.Datasets;

/// <summary>
/// CIFAR-10 binary batch files (raw or gzip) read record by record as the images are asked for: the streaming form of
/// <see cref="Cifar10Reader.Read"/>, with the same checks (label 0..9, whole records: a raw file's length up front, a
/// gzip file's content when its end is reached, with its trailer's size) and the same conversion to NHWC. Holds one file
/// open at a time and one buffer of records (the largest read asked for so far).
/// </summary>
public sealed class Cifar10Stream : LabeledImageStream
{
    readonly string[] _paths;
    int _file = -1;
    long _record; // records read from the current file
    DatasetFileStream? _current;
    byte[] _records = [];

    public override Shape3 Shape => Cifar10Reader.Shape;
    public override int Classes => Cifar10Reader.Classes;

    public Cifar10Stream(params string[] paths)
    {
        if (paths.Length == 0) throw new HepBnnException("no CIFAR-10 batch files given");
        _paths = paths;
        NextFile(); // opens the first file now: a missing one fails here, not at the first read
    }

    /// <summary>The test batch (or the five training batches) of an extracted <c>cifar-10-batches-bin</c> directory.</summary>
    public static Cifar10Stream OpenDirectory(string directory, bool test = true) => new(Cifar10Reader.Files(directory, test));

    bool NextFile()
    {
        _current?.Dispose();
        _current = null;
        if (++_file >= _paths.Length) return false;
        var s = new DatasetFileStream(_paths[_file]);
        if (s.RawLength is { } length && (length == 0 || length % Cifar10Reader.RecordBytes != 0))
        {
            s.Dispose();
            throw NotRecords(_paths[_file], length);
        }
        _current = s;
        _record = 0;
        return true;
    }

    static HepBnnException NotRecords(string path, long length) =>
        new($"{path}: {length} bytes is not a whole number of {Cifar10Reader.RecordBytes}-byte CIFAR-10 records (truncated or not a CIFAR-10 batch)");

    public override int Read(Span<byte> images, Span<byte> labels)
    {
        int want = Capacity(images, labels), done = 0;
        if (want > 0 && _records.Length < (long)want * Cifar10Reader.RecordBytes)
            _records = new byte[checked(want * Cifar10Reader.RecordBytes)];
        while (done < want && _current is not null)
        {
            var s = _current;
            var buffer = _records.AsSpan(0, (want - done) * Cifar10Reader.RecordBytes);
            int got = s.ReadBlock(buffer);
            int whole = got / Cifar10Reader.RecordBytes;
            if (got != whole * Cifar10Reader.RecordBytes || (got == 0 && _record == 0))
                throw NotRecords(_paths[_file], s.Position);
            for (int r = 0; r < whole; r++, done++, _record++)
            {
                var record = buffer.Slice(r * Cifar10Reader.RecordBytes, Cifar10Reader.RecordBytes);
                if (record[0] >= Cifar10Reader.Classes)
                    throw new HepBnnException($"{_paths[_file]}: record {_record} has label {record[0]}, CIFAR-10 labels are 0..9 (not a CIFAR-10 batch, or CIFAR-100)");
                labels[done] = record[0];
                Cifar10Reader.ChwToHwc(record[1..], images.Slice(done * Cifar10Reader.PixelBytes, Cifar10Reader.PixelBytes));
            }
            if (got < buffer.Length) NextFile(); // this file ended (its end checks passed)
        }
        return done;
    }

    public override void Dispose()
    {
        _current?.Dispose();
        _current = null;
    }
}
