using HepBnn.Formats.Native;
using HepBnn.Model;

namespace HepBnn.Tests.Sessions;

/// <summary>The README's three lines, as samples/QuickStart runs them (the sample is built with the tests).</summary>
[Collection(EnvironmentCollection.Name)]
public class QuickStartSampleTests
{
    [Fact]
    public void TheSampleRunsAsWrittenAndTheSecondRunUsesTheCachedPlan()
    {
        string cache = Directory.CreateTempSubdirectory("hepbnn-quickstart-").FullName;
        string? before = Environment.GetEnvironmentVariable("HEPBNN_CACHE_DIR");
        var output = new StringWriter();
        var console = Console.Out;
        try
        {
            Environment.SetEnvironmentVariable("HEPBNN_CACHE_DIR", cache); // not the user's cache
            Console.SetOut(output);
            Assert.Equal(0, QuickStart.Program.Main([]));
            string model = Path.Combine(cache, "tiny.hbnn");
            ModelFile.Save(RandomNetworks.Generate(21), model); // any model file works, .hbnn too
            Assert.Equal(0, QuickStart.Program.Main([model]));
            Assert.Equal(0, QuickStart.Program.Main([model]));
        }
        finally
        {
            Console.SetOut(console);
            Environment.SetEnvironmentVariable("HEPBNN_CACHE_DIR", before);
            Directory.Delete(cache, recursive: true);
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.All(lines, l => Assert.Matches(@"^classes: (\d+ ){7}\d+  \(mapping: ", l));
        Assert.Contains("mapping: profiled", lines[1]);
        Assert.Contains("mapping: plan cache", lines[2]);
    }
}

/// <summary>Tests that change process-wide state (environment variables, Console.Out) run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "process environment";
}
