

namespace HepBnn.Tests.Fuzzing;

/// <summary>What every fuzz test shares: case count and seed (HEPBNN_FUZZ_CASES / HEPBNN_FUZZ_SEED, set by scripts/fuzz.sh),
/// the harness options, and the check of a report (printed, appended to HEPBNN_FUZZ_REPORT, no failures, both paths reached).</summary>
internal static class FuzzSettings
{
    public static int Cases => int.TryParse(Environment.GetEnvironmentVariable("HEPBNN_FUZZ_CASES"), out int n) && n > 0 ? n : 2500;
    public static int Seed => int.TryParse(Environment.GetEnvironmentVariable("HEPBNN_FUZZ_SEED"), out int s) ? s : 12345;

    public static MutationFuzzer.Options Options(Func<byte[], byte[]>? reseal, Func<byte[], Random, (byte[], string)> structured) => new()
    {
        Seed = Seed,
        Reseal = reseal,
        Structured = structured,
        FailureDirectory = Path.Combine(Path.GetTempPath(), "hepbnn-fuzz-failures"),
    };

    public static void Check(ITestOutputHelper output, MutationFuzzer.Report report)
    {
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("HEPBNN_FUZZ_REPORT") is { Length: > 0 } path) File.AppendAllText(path, report + Environment.NewLine);
        Assert.True(report.Failures.Count == 0, report.ToString());
        Assert.True(report.Rejected > 0 && report.Accepted > 0, "the fuzzer neither reached the parser's success path nor its error path");
    }
}

/// <summary>A private directory for parsers that read files: each case's input is written to a file there first, so the
/// real file-reading entry points are fuzzed. Deleted on dispose.</summary>
internal sealed class FuzzScratch : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("hepbnn-fuzz-").FullName;

    public string Write(string name, byte[] bytes)
    {
        string path = Path.Combine(Directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
