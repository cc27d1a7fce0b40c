namespace HepBnn.Tests.Support;

/// <summary>The repository checkout the tests run from (found by walking up to HepBnn.sln).</summary>
public static class RepoPaths
{
    static readonly Lazy<string?> _root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "HepBnn.sln"))) return dir.FullName;
        return null;
    });

    /// <summary>The repository root, or null when the tests run outside a checkout (then source-reading tests skip).</summary>
    public static string? Root => _root.Value;
}
