using System.Text.RegularExpressions;

namespace HepBnn.Tests.Architecture;

/// <summary>
/// The dependency graph between the library's top-level folders (src/HepBnn/&lt;Folder&gt;, namespace HepBnn.&lt;Folder&gt;…):
/// an edge A → B for every file in A that names HepBnn.B (a using directive, a using alias or a fully qualified name).
/// </summary>
public sealed partial class FolderDependencies
{
    /// <summary>Edges with the files that cause them: (from, to) → files.</summary>
    public IReadOnlyDictionary<(string From, string To), List<string>> Edges { get; }
    public IReadOnlyList<string> Folders { get; }

    FolderDependencies(IReadOnlyList<string> folders, Dictionary<(string, string), List<string>> edges) { Folders = folders; Edges = edges; }

    [GeneratedRegex(@"\bHepBnn\.([A-Z][A-Za-z0-9]*)\b")]
    private static partial Regex Reference();

    public static FolderDependencies Scan(string libraryDir)
    {
        var folders = Directory.GetDirectories(libraryDir).Select(Path.GetFileName).OfType<string>()
            .Where(f => f is not ("bin" or "obj") && Directory.EnumerateFiles(Path.Combine(libraryDir, f), "*.cs", SearchOption.AllDirectories).Any())
            .Order().ToList();
        var edges = new Dictionary<(string, string), List<string>>();
        foreach (var from in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(libraryDir, from), "*.cs", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}")) continue;
                foreach (var line in File.ReadLines(file))
                {
                    string code = line.TrimStart();
                    if (code.StartsWith("//") || code.StartsWith("namespace ")) continue; // doc comments may cite anything
                    foreach (Match m in Reference().Matches(code))
                    {
                        string to = m.Groups[1].Value;
                        if (to == from || !folders.Contains(to)) continue;
                        if (!edges.TryGetValue((from, to), out var list)) edges[(from, to)] = list = [];
                        string rel = Path.GetRelativePath(libraryDir, file);
                        if (!list.Contains(rel)) list.Add(rel);
                    }
                }
            }
        return new(folders, edges);
    }

    public static FolderDependencies Of(IEnumerable<(string From, string To)> edges)
    {
        var e = edges.ToDictionary(x => x, x => new List<string> { "(given)" });
        return new(e.Keys.SelectMany(k => new[] { k.Item1, k.Item2 }).Distinct().Order().ToList(), e);
    }

    /// <summary>One cycle (folder names, first repeated at the end) or null when the graph is acyclic.</summary>
    public IReadOnlyList<string>? FindCycle()
    {
        var state = Folders.ToDictionary(f => f, _ => 0); // 0 new, 1 on the stack, 2 done
        var stack = new List<string>();
        List<string>? Visit(string f)
        {
            state[f] = 1;
            stack.Add(f);
            foreach (var to in Edges.Keys.Where(k => k.From == f).Select(k => k.To).Order())
            {
                if (state[to] == 1) return [.. stack.SkipWhile(s => s != to), to];
                if (state[to] == 0 && Visit(to) is { } cycle) return cycle;
            }
            stack.RemoveAt(stack.Count - 1);
            state[f] = 2;
            return null;
        }
        foreach (var f in Folders)
            if (state[f] == 0 && Visit(f) is { } c) return c;
        return null;
    }

    /// <summary>A layer order consistent with the edges (every folder after the folders it uses).</summary>
    public IReadOnlyList<string> Order()
    {
        var done = new List<string>();
        while (done.Count < Folders.Count)
        {
            var next = Folders.First(f => !done.Contains(f) &&
                Edges.Keys.Where(k => k.From == f).All(k => done.Contains(k.To)));
            done.Add(next);
        }
        return done;
    }
}
