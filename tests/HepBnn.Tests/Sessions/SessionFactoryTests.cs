using HepBnn.Devices;
using HepBnn.Formats.Native;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;
using HepBnn.Sessions;

namespace HepBnn.Tests.Sessions;

/// <summary>The front door: InferenceSession.Create with the three mappings, the plan cache, the CPU fallback and
/// float NCHW input. Small random networks and a private cache folder per test; no GPU (Gpu = None) so that the
/// results do not depend on the machine.</summary>
public sealed class SessionFactoryTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-frontdoor-").FullName;

    public void Dispose() { try { Directory.Delete(_dir, recursive: true); } catch (IOException) { } }

    SessionOptions Options(SessionMapping? mapping = null, bool remap = false, int batch = 4) => new()
    {
        MaxBatch = batch, CpuThreads = 2, Gpu = GpuSelection.None, PlanCacheDirectory = _dir, Remap = remap,
        Mapping = mapping ?? SessionMapping.Auto, ProfileSeconds = 0.1,
    };

    static void MatchesReference(InferenceSession session, BnnModel model, int seed, int batch = 4)
    {
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var scores = new double[batch * session.ScoresPerImage];
        session.Run(images, batch, scores);
        int size = (int)model.InputShape.Elements;
        for (int n = 0; n < batch; n++)
        {
            var expected = ReferenceEngine.Scores(model, images.AsSpan(n * size, size));
            for (int k = 0; k < expected.Length; k++)
                Assert.True(Math.Abs(expected[k] - scores[n * session.ScoresPerImage + k]) < 1e-9,
                    $"seed {seed}, model {model.Name}: image {n} class {k} expected {expected[k]} got {scores[n * session.ScoresPerImage + k]}");
        }
    }

    [Theory]
    [InlineData(3)]
    [InlineData(11)]
    public void AutoMapsOnceThenUsesTheCache(int seed)
    {
        var model = RandomNetworks.Generate(seed);
        using (var first = InferenceSession.Create(model, Options()))
        {
            Assert.Equal("profiled", first.MappingReport!.Source);
            Assert.NotNull(first.MappingReport.Plan);
            Assert.True(File.Exists(first.MappingReport.CacheFile), $"seed {seed}: no cached plan in {_dir}");
            MatchesReference(first, model, seed);
        }
        using var second = InferenceSession.Create(model, Options());
        Assert.Equal("plan cache", second.MappingReport!.Source);
        Assert.Empty(second.MappingReport.Notes);
        MatchesReference(second, model, seed);

        using var remapped = InferenceSession.Create(model, Options(remap: true));
        Assert.Equal("profiled (remap asked)", remapped.MappingReport!.Source);
    }

    [Fact]
    public void AnotherBatchIsAnotherCacheEntry()
    {
        var model = RandomNetworks.Generate(5);
        using (InferenceSession.Create(model, Options(batch: 2))) { }
        using var other = InferenceSession.Create(model, Options(batch: 3));
        Assert.Equal("profiled", other.MappingReport!.Source);
        Assert.Equal(2, Directory.GetFiles(_dir, "*.plan.json").Length);
    }

    [Theory]
    [InlineData("{ not json")]
    [InlineData("")]
    [InlineData("{\"format\":\"hepbnn-plan/1\",\"batch\":4,\"blocks\":[]}")]
    public void ADamagedCacheEntryIsProfiledAgainWithANote(string content)
    {
        var model = RandomNetworks.Generate(7);
        string file;
        using (var s = InferenceSession.Create(model, Options())) file = s.MappingReport!.CacheFile!;
        File.WriteAllText(file, content);
        using var again = InferenceSession.Create(model, Options());
        Assert.Equal("profiled", again.MappingReport!.Source);
        Assert.Contains(again.MappingReport.Notes, n => n.Contains("could not be used") && n.Contains(file));
        MatchesReference(again, model, 7);
        using var third = InferenceSession.Create(model, Options());
        Assert.Equal("plan cache", third.MappingReport!.Source); // the damaged entry was replaced
    }

    [Fact]
    public void AnUnwritableCacheIsANoteNotAFailure()
    {
        string blocker = Path.Combine(_dir, "file");
        File.WriteAllText(blocker, "x");
        var model = RandomNetworks.Generate(8);
        using var s = InferenceSession.Create(model, Options() is var o ? new SessionOptions
        {
            MaxBatch = o.MaxBatch, CpuThreads = 2, Gpu = GpuSelection.None, ProfileSeconds = 0.1,
            PlanCacheDirectory = Path.Combine(blocker, "cache"), // a folder below a file cannot be created
        } : null);
        Assert.Null(s.MappingReport!.CacheFile);
        Assert.Contains(s.MappingReport.Notes, n => n.Contains("not writable"));
        MatchesReference(s, model, 8);
    }

    [Fact]
    public void FilesAndStreamsLoadByFormat()
    {
        var model = RandomNetworks.Generate(9);
        string hbnn = Path.Combine(_dir, "m.hbnn"), onnx = Path.Combine(_dir, "m.onnx");
        ModelFile.Save(model, hbnn);
        File.WriteAllBytes(onnx, OnnxExporter.Export(model));
        var single = Options(SessionMapping.Configuration("cpu.scalar"));
        using (var a = InferenceSession.Create(hbnn, single)) MatchesReference(a, model, 1);
        using (var b = InferenceSession.Create(onnx, single)) MatchesReference(b, b.Model, 2);
        using (var stream = File.OpenRead(hbnn))
        using (var c = InferenceSession.Create(stream, single)) MatchesReference(c, model, 3);
        using (var stream = File.OpenRead(onnx))
        using (var d = InferenceSession.Create(stream, single)) Assert.Equal(ModelHash.Compute(d.Model), ModelHash.Compute(InferenceSession.Create(onnx, single).Model));
        Assert.Throws<HepBnnException>(() => InferenceSession.Create(Path.Combine(_dir, "missing.onnx"), single));
        Assert.Throws<HepBnnException>(() => InferenceSession.Create(new MemoryStream([1, 2, 3]), single));
    }

    [Fact]
    public void APlanFileMapsAndAForeignOneIsRefused()
    {
        var model = RandomNetworks.Generate(12);
        string plan;
        using (var s = InferenceSession.Create(model, Options())) plan = s.MappingReport!.CacheFile!;
        using (var fromFile = InferenceSession.Create(model, Options(SessionMapping.Plan(plan))))
        {
            Assert.Equal($"plan file '{plan}'", fromFile.MappingReport!.Source);
            MatchesReference(fromFile, model, 12);
        }
        Assert.Throws<PlanMismatchException>(() => InferenceSession.Create(RandomNetworks.Generate(13), Options(SessionMapping.Plan(plan))));
    }

    [Fact]
    public void AGpuConfigurationWithoutAGpuFallsBackToTheCpuWithTheReason()
    {
        var model = RandomNetworks.Generate(14);
        using var s = InferenceSession.Create(model, Options(SessionMapping.Configuration("gpu.thread-per-output")));
        Assert.NotNull(s.MappingReport!.Fallback);
        Assert.Contains("GPU", s.MappingReport.ToString());
        Assert.All(s.Assignment, c => Assert.Equal(DeviceKind.Cpu, c.Device));
        MatchesReference(s, model, 14);

        var strict = Options(SessionMapping.Configuration("gpu.thread-per-output")) is var o
            ? new SessionOptions { MaxBatch = 4, Gpu = GpuSelection.None, PlanCacheDirectory = _dir, Mapping = o.Mapping, CpuFallback = false } : null;
        Assert.Throws<GpuUnavailableException>(() => InferenceSession.Create(model, strict));
        Assert.Throws<HepBnnException>(() => InferenceSession.Create(model, Options(SessionMapping.Configuration("no.such"))));
    }

    [Fact]
    public void FloatNchwInputGivesTheSameAnswersAsBytesAndShapesAreChecked()
    {
        var model = RandomNetworks.Generate(15);
        var s = model.InputShape;
        using var session = InferenceSession.Create(model, Options(SessionMapping.Configuration("cpu.scalar")));
        var bytes = ModelZoo.RandomImages(s, 4, 15);
        var nchw = ImageLayout.NhwcToNchw(bytes, s, 4);
        Assert.Equal(session.Predict(bytes, 4), session.Predict(nchw, [4, s.C, s.H, s.W]));
        var back = new byte[bytes.Length];
        ImageLayout.NchwToNhwc(nchw, s, 4, back);
        Assert.Equal(bytes, back);

        Assert.Contains("does not match", Assert.Throws<HepBnnException>(() => session.Predict(nchw, [4, s.H, s.W, s.C + 1])).Message);
        Assert.Throws<HepBnnException>(() => session.Predict(nchw, [4, s.C, s.H * s.W]));
        Assert.Throws<HepBnnException>(() => session.Predict(nchw, [5, s.C, s.H, s.W]));
        Assert.Throws<HepBnnException>(() => session.Predict(nchw.AsSpan(0, nchw.Length - 1), [4, s.C, s.H, s.W]));
        nchw[1] = 0.5f;
        Assert.Contains("whole pixel value", Assert.Throws<HepBnnException>(() => session.Predict(nchw, [4, s.C, s.H, s.W])).Message);
        nchw[1] = 256;
        Assert.Throws<HepBnnException>(() => session.Predict(nchw, [4, s.C, s.H, s.W]));
        nchw[1] = float.NaN;
        Assert.Throws<HepBnnException>(() => session.Predict(nchw, [4, s.C, s.H, s.W]));
    }
}

/// <summary>The default cache folder reads environment variables: changed here one test at a time.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class PlanCacheFolderTests
{
    readonly string _dir = Path.GetTempPath();

    [Fact]
    public void TheDefaultCacheFolderFollowsTheEnvironment()
    {
        string? before = Environment.GetEnvironmentVariable("HEPBNN_CACHE_DIR");
        try
        {
            Environment.SetEnvironmentVariable("HEPBNN_CACHE_DIR", Path.Combine(_dir, "hepbnn-env-test"));
            Assert.Equal(Path.Combine(_dir, "hepbnn-env-test"), PlanCache.DefaultDirectory());
            Environment.SetEnvironmentVariable("HEPBNN_CACHE_DIR", null);
            Assert.EndsWith("hepbnn", PlanCache.DefaultDirectory());
        }
        finally { Environment.SetEnvironmentVariable("HEPBNN_CACHE_DIR", before); }
    }
}
