using HepBnn.Formats.Native;
using HepBnn.Model;

namespace HepBnn.Tests.Cli;

/// <summary>Every command's numeric options and output paths, checked by the one shared validation before any work:
/// one line on stderr, exit code 2 (issue 13: `run --batch -1` crashed with an OverflowException, `--repeat 0` printed a
/// "median", `--repeat 2000000000` ran unbounded, map created missing directories, a directory was "Access denied").</summary>
public class OptionRulesTests
{
    [Theory]
    [InlineData("run -m vgg3 --batch -1", "--batch must be in 1..65536 (got -1)")]
    [InlineData("run -m vgg3 --batch -2 --json", "--batch must be in 1..65536 (got -2)")]
    [InlineData("run -m vgg3 --repeat 0", "--repeat must be in 1..100000 (got 0)")]
    [InlineData("run -m vgg3 --repeat -1", "--repeat must be in 1..100000 (got -1)")]
    [InlineData("run -m vgg3 --repeat 2000000000", "--repeat must be in 1..100000 (got 2000000000)")]
    [InlineData("run -m vgg3 --seed -5", "--seed must be in 0..2147483647 (got -5)")]
    [InlineData("map -m vgg3 --batch 0 --out x.json", "--batch must be in 1..65536 (got 0)")]
    [InlineData("map -m vgg3 --top 0 --out x.json", "--top must be in 1..1000 (got 0)")]
    [InlineData("profile -m vgg3 --profile-budget-s 0", "--profile-budget-s must be in (0, 3600] (got 0)")]
    [InlineData("profile -m vgg3 --profile-budget-s NaN", "--profile-budget-s must be in (0, 3600]")]
    [InlineData("bench -m vgg3 --batch 1 -3", "--batch must be in 1..65536 (got -3)")]
    [InlineData("bench -m vgg3 --measure-s -1", "--measure-s must be in [0, 3600] (got -1)")]
    [InlineData("bench -m vgg3 --top 51", "--top must be in 1..50 (got 51)")]
    [InlineData("verify --networks -1", "--networks must be in 0..100000 (got -1)")]
    [InlineData("transfers --budget-ms 0", "--budget-ms must be in (0, 3600000] (got 0)")]
    [InlineData("demo --batch 0", "--batch must be in 1..65536 (got 0)")]
    public void BadNumbersAreOneLine(string args, string expected) => CliProcess.Refused(args, expected);

    [Fact]
    public void MapRefusesAMissingDirectoryAndCreatesNone()
    {
        string root = Directory.CreateTempSubdirectory("hepbnn-map-").FullName;
        try
        {
            string target = Path.Combine(root, "missing", "dir", "x.json");
            var r = CliProcess.Refused($"map -m vgg3 --out {target}", "does not exist");
            Assert.False(Directory.Exists(Path.Combine(root, "missing")), "map created the missing directory");
            Assert.True(r.Elapsed < TimeSpan.FromSeconds(20), "the path must be checked before profiling");
        }
        finally { Directory.Delete(root, true); }
    }

    [Theory]
    [InlineData("map -m vgg3 --out {dir}")]
    [InlineData("profile -m vgg3 --out {dir}")]
    [InlineData("save -m vgg3 --out {dir}")]
    [InlineData("info --json-out {dir}")]
    [InlineData("bench -m vgg3 --json-out {dir}")]
    public void ADirectoryGivenAsAFileIsNamedAsSuch(string args)
    {
        string dir = Directory.CreateTempSubdirectory("hepbnn-dir-").FullName;
        try { CliProcess.Refused(args.Replace("{dir}", dir), "is a directory; give a file name"); }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BenchChecksPlotDirBeforeProfiling()
    {
        string file = Path.GetTempFileName();
        try
        {
            var r = CliProcess.Refused($"bench -m vgg3 --plot-dir {file}", "is a file, not a directory");
            Assert.True(r.Elapsed < TimeSpan.FromSeconds(20), $"took {r.Elapsed} (profiled first?)");
            CliProcess.Refused($"bench -m vgg3 --plot-dir {Path.Combine(file + ".missing", "a", "b")}", "does not exist");
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void SaveErrorsNeverNameTheTemporaryFile()
    {
        string dir = Directory.CreateTempSubdirectory("hepbnn-ro-").FullName;
        try
        {
            string target = Path.Combine(dir, "m.hbnn");
            Directory.CreateDirectory(target + ".blocker");
            // a directory where the file should go: the rename fails; the message names the target only
            var r = CliProcess.Refused($"save -m vgg3 --out {target}.blocker", "is a directory");
            Assert.DoesNotContain(".tmp", r.Stderr);
            var missing = CliProcess.Refused($"save -m vgg3 --out {Path.Combine(dir, "no", "m.hbnn")}", "does not exist");
            Assert.DoesNotContain(".tmp", missing.Stderr);
            Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("save -m vgg3 --out {dir}/m.onnx", "use `hepbnn export MODEL --out")]
    [InlineData("save -m vgg3 --out {dir}/m.bin", "the extension names the format")]
    [InlineData("export vgg3 --out {dir}/m.txt", "the extension names the format")]
    public void TheOutputExtensionNamesTheModelFormat(string args, string expected)
    {
        string dir = Directory.CreateTempSubdirectory("hepbnn-ext-").FullName;
        try
        {
            CliProcess.Refused(args.Replace("{dir}", dir), expected);
            Assert.Empty(Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ExportWritesTheFormatItsExtensionNames()
    {
        string dir = Directory.CreateTempSubdirectory("hepbnn-exp-").FullName;
        try
        {
            var native = CliProcess.Run($"export vgg3 --out {dir}/m.hbnn");
            Assert.True(native.ExitCode == 0, native.ToString());
            Assert.True(ModelFile.HasMagic(File.ReadAllBytes($"{dir}/m.hbnn")));
            var onnx = CliProcess.Run($"export vgg3 --out {dir}/m.onnx");
            Assert.True(onnx.ExitCode == 0, onnx.ToString());
            Assert.False(ModelFile.HasMagic(File.ReadAllBytes($"{dir}/m.onnx")));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ConcurrentSavesToOnePathNeverCollide()
    {
        string dir = Directory.CreateTempSubdirectory("hepbnn-save-").FullName;
        try
        {
            string path = Path.Combine(dir, "m.hbnn");
            var models = Enumerable.Range(0, 6).Select(i => ModelZoo.Vgg3(seed: i + 1)).ToArray();
            var hashes = models.Select(ModelHash.Compute).ToHashSet();
            var errors = new List<string>();
            var threads = models.Select(m => new Thread(() =>
            {
                for (int k = 0; k < 8; k++)
                    try { ModelFile.Save(m, path); }
                    catch (Exception e) { lock (errors) errors.Add($"{e.GetType().Name}: {e.Message}"); }
            }) { IsBackground = true }).ToList();
            threads.ForEach(t => t.Start());
            Assert.True(threads.All(t => t.Join(TimeSpan.FromSeconds(60))), "concurrent saves did not finish");
            Assert.True(errors.Count == 0, $"{errors.Count} of 48 saves failed: {string.Join("; ", errors.Distinct())}");
            Assert.Contains(ModelHash.Compute(ModelFile.Load(path)), hashes); // one complete model, never a mix
            Assert.Equal(["m.hbnn"], Directory.GetFiles(dir).Select(Path.GetFileName));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void DemoTakesJsonAndInfoTakesGpuAsTheReadmeSays()
    {
        // accepted by the parser (a bad --batch is then refused by the rules, exit 2, not "unrecognized option", exit 1)
        CliProcess.Refused("demo --json --batch 0", "--batch must be in");
        var info = CliProcess.Run("info --gpu none --json");
        Assert.True(info.ExitCode == 0, info.ToString());
        using var doc = System.Text.Json.JsonDocument.Parse(info.Stdout);
        Assert.Equal("none", doc.RootElement.GetProperty("gpuSelection").GetString());
        Assert.StartsWith("none", doc.RootElement.GetProperty("sessionGpu").GetString());
        CliProcess.Refused("info --gpu bogus", "GPU selection must be");
    }

    [Fact]
    public void AConfigurationTheCpuCannotRunIsShownUnavailableWithTheReason()
    {
        // the runtime's switch that hides AVX-512 from the process: the same as a CPU without it
        var noAvx512 = new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" };
        var info = CliProcess.Run("info", env: noAvx512);
        Assert.True(info.ExitCode == 0, info.ToString());
        Assert.Contains("unavailable: this CPU lacks AVX-512BW", info.Stdout);
        CliProcess.Refused("run -m vgg3 --config cpu.simd512", "cpu.simd512 cannot run here: this CPU lacks AVX-512BW", noAvx512);
        if (System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
            Assert.DoesNotContain("unavailable", CliProcess.Run("info").Stdout);
    }
}
