namespace HepBnn.Formats;

/// <summary>Reads whole files or streams into memory without trusting anything but the bytes actually there:
/// a seekable source is measured first (and refused above the limit), a non-seekable one is read in chunks up to it.</summary>
internal static class BoundedRead
{
    public static byte[] File(string path, long maxBytes)
    {
        try
        {
            using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            return All(f, maxBytes, "file");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new HepBnnException("file not found", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new HepBnnException($"cannot read the file: {e.Message}", e);
        }
    }

    public static byte[] All(Stream stream, long maxBytes, string what)
    {
        try
        {
            if (stream.CanSeek)
            {
                long remaining = stream.Length - stream.Position;
                if (remaining > maxBytes) throw new HepBnnException($"{what} is {remaining} bytes, the limit is {maxBytes}");
                var data = new byte[remaining];
                stream.ReadExactly(data);
                return data;
            }
            var ms = new MemoryStream();
            var chunk = new byte[81920];
            int n;
            while ((n = stream.Read(chunk)) > 0)
            {
                if (ms.Length + n > maxBytes) throw new HepBnnException($"{what} exceeds the limit of {maxBytes} bytes");
                ms.Write(chunk, 0, n);
            }
            return ms.ToArray();
        }
        catch (Exception e) when (e is IOException or NotSupportedException or ObjectDisposedException)
        {
            throw new HepBnnException($"cannot read the {what}: {e.Message}", e);
        }
    }
}
