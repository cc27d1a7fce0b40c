using System.Buffers.Binary;
using System.IO.Compression;

namespace HepBnn.Formats.Datasets;

/// <summary>
/// A dataset file read front to back in pieces, decompressed on the fly when it starts with the gzip magic: the streaming
/// counterpart of <see cref="DatasetFile.ReadAll"/>, with the same checks made as the bytes go by: I/O and corrupt deflate
/// data become one <see cref="HepBnnException"/> naming the file; a gzip stream that ends short of its trailer's size
/// (truncated), holds nothing, or expands beyond what deflate can (<see cref="DatasetFile.MaxGzipRatio"/>) fails at the
/// read that finds it. Memory: one 64 KiB file buffer plus the decompressor's state, whatever the file's size.
/// </summary>
internal sealed class DatasetFileStream : IDisposable
{
    readonly FileStream _file;
    readonly GZipStream? _gzip;
    readonly uint? _isize;
    readonly long _limit;
    long _total;
    bool _ended;

    public string Path { get; }
    public bool Compressed => _gzip is not null;
    /// <summary>Bytes of content handed out so far.</summary>
    public long Position => _total;
    /// <summary>The content's length when known before reading it: a raw file's length (a gzip file's trailer only
    /// states it modulo 2^32 and may lie, so it is not used for anything but the end check).</summary>
    public long? RawLength => _gzip is null ? _file.Length : null;

    public DatasetFileStream(string path)
    {
        Path = path;
        _file = DatasetFile.Open(path);
        try
        {
            long length = _file.Length;
            _limit = long.MaxValue;
            if (length >= 2)
            {
                Span<byte> head = stackalloc byte[2];
                DatasetFile.ReadExactly(_file, head, path);
                _file.Position = 0;
                if (DatasetFile.IsGzip(head))
                {
                    _limit = length * DatasetFile.MaxGzipRatio;
                    if (length >= 18)
                    {
                        Span<byte> trailer = stackalloc byte[4];
                        _file.Position = length - 4;
                        DatasetFile.ReadExactly(_file, trailer, path);
                        _file.Position = 0;
                        _isize = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
                    }
                    _gzip = new GZipStream(_file, CompressionMode.Decompress, leaveOpen: true);
                }
            }
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>Fills <paramref name="buffer"/> as far as the content goes; returns the bytes read (less than its length
    /// only at the end of the content, 0 after it). The end checks run when the end is reached.</summary>
    public int ReadBlock(Span<byte> buffer)
    {
        int got = 0;
        while (got < buffer.Length && !_ended)
        {
            int n;
            try { n = _gzip is not null ? _gzip.Read(buffer[got..]) : _file.Read(buffer[got..]); }
            catch (InvalidDataException e) { throw new HepBnnException($"{Path}: corrupt gzip data ({e.Message})", e); }
            catch (IOException e) { throw new HepBnnException($"cannot read {Path}: {e.Message}", e); }
            if (n == 0)
            {
                _ended = true;
                CheckEnd();
                break;
            }
            got += n;
            _total += n;
            if (_total > _limit)
                throw new HepBnnException($"{Path}: gzip data expands beyond {DatasetFile.MaxGzipRatio}x its size (corrupt or hostile)");
        }
        return got;
    }

    void CheckEnd()
    {
        if (_gzip is null) return;
        if (_total == 0) throw new HepBnnException($"{Path}: gzip file holds no data (truncated or corrupt)");
        // GZipStream ends quietly at a cut; the trailer's size (of the last member: these files have one) catches it
        if (_isize is null || _isize.Value != (uint)_total)
            throw new HepBnnException($"{Path}: gzip file is truncated or corrupt (decompressed {_total} bytes, its trailer says {(_isize is { } v ? v.ToString() : "nothing")})");
    }

    public void Dispose()
    {
        _gzip?.Dispose();
        _file.Dispose();
    }
}
