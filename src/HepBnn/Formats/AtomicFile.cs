namespace HepBnn.Formats;

/// <summary>
/// Writing output files the same way everywhere: the path is checked first (not a directory, its directory exists — no
/// directory is ever created silently), the bytes go to a temporary file with a unique name next to it and are renamed
/// over the target, so a crash never leaves half a file and concurrent writers to one path never share a temporary file.
/// Errors are one <see cref="HepBnnException"/> naming the target, never the temporary file.
/// </summary>
public static class AtomicFile
{
    /// <summary>Throws a clear <see cref="HepBnnException"/> unless <paramref name="path"/> can name a file to be written:
    /// not empty, not an existing directory, in a directory that exists.</summary>
    public static void CheckWritable(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new HepBnnException($"{what}: no file name given");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new HepBnnException($"{what} '{path}' is not a valid path: {e.Message}", e);
        }
        if (Directory.Exists(full)) throw new HepBnnException($"{what} '{path}' is a directory; give a file name");
        if (path.EndsWith('/') || path.EndsWith(Path.DirectorySeparatorChar))
            throw new HepBnnException($"{what} '{path}' ends with a separator; give a file name");
        string? dir = Path.GetDirectoryName(full);
        if (dir is not null && !Directory.Exists(dir))
            throw new HepBnnException(File.Exists(dir)
                ? $"{what} '{path}': '{dir}' is a file, not a directory"
                : $"{what} '{path}': the directory '{dir}' does not exist (create it first)");
    }

    /// <summary>Throws a clear <see cref="HepBnnException"/> unless <paramref name="path"/> is an existing directory or one
    /// that can be created in an existing parent directory (output folders such as --plot-dir).</summary>
    public static void CheckDirectory(string path, string what)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new HepBnnException($"{what}: no directory given");
        string full;
        try { full = Path.GetFullPath(path); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new HepBnnException($"{what} '{path}' is not a valid path: {e.Message}", e);
        }
        if (Directory.Exists(full)) return;
        if (File.Exists(full)) throw new HepBnnException($"{what} '{path}' is a file, not a directory");
        string? parent = Path.GetDirectoryName(full.TrimEnd(Path.DirectorySeparatorChar));
        if (parent is not null && !Directory.Exists(parent))
            throw new HepBnnException($"{what} '{path}': its parent directory '{parent}' does not exist (create it first)");
    }

    public static void Write(string path, ReadOnlySpan<byte> bytes, string what)
    {
        CheckWritable(path, what);
        string full = Path.GetFullPath(path);
        // unique per writer: concurrent writes to one path each rename their own complete file (the last one wins)
        string tmp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                f.Write(bytes);
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            try { File.Delete(tmp); } catch (Exception) { /* best effort: the target is what matters */ }
            string reason = e is UnauthorizedAccessException ? "permission denied" : e.Message.Replace(tmp, path);
            throw new HepBnnException($"cannot write {what} '{path}': {reason}", e);
        }
    }

    public static void WriteText(string path, string text, string what) =>
        Write(path, System.Text.Encoding.UTF8.GetBytes(text), what);
}
