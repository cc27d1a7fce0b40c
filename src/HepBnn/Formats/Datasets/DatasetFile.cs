namespace HepBnn.Formats.Datasets;

/// <summary>Opening dataset files with I/O problems turned into one clear <see cref="HepBnnException"/>.</summary>
internal static class DatasetFile
{
    public static FileStream Open(string path)
    {
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new HepBnnException($"cannot read {path}: {e.Message}", e);
        }
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
