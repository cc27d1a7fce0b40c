using HepBnn.Tests.Support;

namespace HepBnn.Tests.Architecture;

/// <summary>
/// The library's folders depend on each other one way only (docs/DESIGN.md, "Folders"):
/// Model → Devices → Ops → Formats → Runtime → Planning → Sessions → Evaluation → Reference. A new cycle fails here, naming the files.
/// </summary>
public class FolderDependencyTests
{
    static string Library()
    {
        string? root = RepoPaths.Root;
        Assert.SkipWhen(root is null, "the sources are not next to the test binaries (HepBnn.sln not found above the output folder)");
        return Path.Combine(root!, "src", "HepBnn");
    }

    [Fact]
    public void TopLevelFoldersHaveNoDependencyCycle()
    {
        var graph = FolderDependencies.Scan(Library());
        Assert.True(graph.Folders.Count >= 6, $"only found folders {string.Join(", ", graph.Folders)}");
        var cycle = graph.FindCycle();
        if (cycle is not null)
        {
            var why = cycle.Zip(cycle.Skip(1)).Select(p => $"{p.First} → {p.Second}: {string.Join(", ", graph.Edges[(p.First, p.Second)].Take(4))}");
            Assert.Fail($"dependency cycle {string.Join(" → ", cycle)}\n{string.Join("\n", why)}");
        }
    }

    [Fact]
    public void TheLayersKeepTheDocumentedOrder()
    {
        // Each folder may use only folders listed before it.
        string[] order = ["Model", "Devices", "Ops", "Formats", "Runtime", "Planning", "Sessions", "Evaluation", "Reference"];
        var graph = FolderDependencies.Scan(Library());
        foreach (var ((from, to), files) in graph.Edges)
        {
            int f = Array.IndexOf(order, from), t = Array.IndexOf(order, to);
            Assert.True(f >= 0, $"folder {from} is not in the documented order (add it to docs/DESIGN.md and this test)");
            Assert.True(t >= 0, $"folder {to} is not in the documented order (add it to docs/DESIGN.md and this test)");
            Assert.True(t < f, $"{from} uses {to}, which comes after it ({string.Join(", ", files.Take(4))})");
        }
    }

    [Fact]
    public void FileNamespacesFollowTheirTopLevelFolder()
    {
        string lib = Library();
        foreach (var file in Directory.EnumerateFiles(lib, "*.cs", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(lib, file);
            if (rel.StartsWith("obj") || rel.StartsWith("bin")) continue;
            string? ns = File.ReadLines(file).FirstOrDefault(l => l.StartsWith("namespace "))?["namespace ".Length..].TrimEnd(';', ' ');
            if (ns is null) continue;
            var parts = rel.Split(Path.DirectorySeparatorChar);
            string expected = parts.Length == 1 ? "HepBnn" : $"HepBnn.{parts[0]}";
            Assert.True(ns == expected || ns.StartsWith(expected + "."), $"{rel}: namespace {ns} is outside {expected}");
        }
    }

    [Fact]
    public void TheCycleFinderFindsACycleAndAnOrder()
    {
        var cyclic = FolderDependencies.Of([("A", "B"), ("B", "C"), ("C", "A"), ("C", "D")]);
        var cycle = cyclic.FindCycle();
        Assert.NotNull(cycle);
        Assert.Equal(cycle[0], cycle[^1]);
        Assert.Equal(4, cycle.Count);
        var acyclic = FolderDependencies.Of([("A", "B"), ("B", "C"), ("A", "C")]);
        Assert.Null(acyclic.FindCycle());
        Assert.Equal(["C", "B", "A"], acyclic.Order());
    }
}
