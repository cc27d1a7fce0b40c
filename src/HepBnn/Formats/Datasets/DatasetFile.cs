using System.Buffers.Binary;
using System.IO.Compression;

namespace HepBnn.Formats.Datasets;

/// <summary>Opening dataset files with I/O problems turned into one clear <see cref="HepBnnException"/>; gzip files
/// (the official archives are distributed so) are decompressed in memory with a bound on what they may grow to.</summary>
internal static class DatasetFile
{
    /// <summary>Deflate cannot expand more than 1032:1, so a gzip file of n bytes holds at most this many per byte;
    /// the bound makes a hostile "gzip bomb" fail as soon as it exceeds what a real stream could hold.</summary>
    public const long MaxGzipRatio = 1032;

    public static FileStream Open(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new HepBnnException($"cannot read {path}: {e.Message}", e);
        }
    }

    /// <summary>The whole content of a file, decompressed when it starts with the gzip magic; never more than
    /// <paramref name="maxBytes"/> (a larger file or stream fails with a message naming the limit).</summary>
    public static byte[] ReadAll(string path, long maxBytes)
    {
        using var fs = Open(path);
        long length = fs.Length;
        Span<byte> head = stackalloc byte[2];
        int got = length >= 2 ? 2 : 0;
        if (got == 2) ReadExactly(fs, head, path);
        fs.Position = 0;
        if (got == 2 && IsGzip(head)) return Gunzip(fs, path, length, maxBytes);
        if (length > maxBytes) throw new HepBnnException($"{path}: {length} bytes exceed the limit of {maxBytes} for this kind of file");
        var data = new byte[length];
        ReadExactly(fs, data, path);
        return data;
    }

    static byte[] Gunzip(FileStream fs, string path, long compressed, long maxBytes)
    {
        long limit = Math.Min(Math.Min(maxBytes, Array.MaxLength), compressed * MaxGzipRatio);
        // The trailer's ISIZE (size mod 2^32 of the last member) sizes the buffer when it is plausible; a lie only costs
        // a regrowth or a smaller first buffer, never more than the limit.
        int initial = 1 << 16;
        uint? isize = null;
        if (compressed >= 18)
        {
            Span<byte> trailer = stackalloc byte[4];
            fs.Position = compressed - 4;
            ReadExactly(fs, trailer, path);
            fs.Position = 0;
            isize = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
            if (isize <= limit) initial = (int)Math.Max(isize.Value, 16);
        }
        var buffer = new byte[Math.Min(initial, Math.Max(limit, 16))];
        long total = 0;
        try
        {
            using var gz = new GZipStream(fs, CompressionMode.Decompress, leaveOpen: true);
            while (true)
            {
                if (total == buffer.Length)
                {
                    if (total >= limit)
                    {
                        // one more byte would exceed the limit: is there one?
                        if (gz.ReadByte() < 0) break;
                        throw new HepBnnException(limit == compressed * MaxGzipRatio && limit < maxBytes
                            ? $"{path}: gzip data expands beyond {MaxGzipRatio}x its size (corrupt or hostile)"
                            : $"{path}: decompressed data exceed the limit of {limit} bytes for this kind of file");
                    }
                    Array.Resize(ref buffer, (int)Math.Min(limit, Math.Max(2L * buffer.Length, 1 << 16)));
                }
                int n = gz.Read(buffer, (int)total, (int)(buffer.Length - total));
                if (n == 0) break;
                total += n;
            }
        }
        catch (InvalidDataException e) { throw new HepBnnException($"{path}: corrupt gzip data ({e.Message})", e); }
        catch (IOException e) { throw new HepBnnException($"cannot read {path}: {e.Message}", e); }
        if (total == 0) throw new HepBnnException($"{path}: gzip file holds no data (truncated or corrupt)");
        // GZipStream ends quietly at a cut; the trailer's size (of the last member: these files have one) catches it
        if (isize is null || isize.Value != (uint)total)
            throw new HepBnnException($"{path}: gzip file is truncated or corrupt (decompressed {total} bytes, its trailer says {(isize is { } v ? v.ToString() : "nothing")})");
        if (total != buffer.Length) Array.Resize(ref buffer, (int)total);
        return buffer;
    }

    /// <summary>Reads exactly <paramref name="buffer"/>.Length bytes; a file that shrank while reading is "truncated".</summary>
    public static void ReadExactly(FileStream fs, Span<byte> buffer, string path)
    {
        try { fs.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw new HepBnnException($"{path}: file is truncated (it changed while being read)"); }
        catch (IOException e) { throw new HepBnnException($"cannot read {path}: {e.Message}", e); }
    }

    /// <summary>Gzip magic: the archives are distributed compressed.</summary>
    public static bool IsGzip(ReadOnlySpan<byte> head) => head.Length >= 2 && head[0] == 0x1F && head[1] == 0x8B;
}
