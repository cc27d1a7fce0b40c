using HepBnn.Formats.Native;
using HepBnn.Model;
using HepBnn.Reference;

namespace HepBnn.Tests.Formats.Native;

public class ModelFileRoundTripTests
{
    [Fact]
    public void RoundTripKeepsTheModelHashAndTheBytes()
    {
        foreach (var model in FormatTestModels.RoundTripSet(randomCount: 60))
        {
            var bytes = ModelFile.ToBytes(model);
            var loaded = ModelFile.FromBytes(bytes);
            Assert.True(ModelHash.Compute(model) == ModelHash.Compute(loaded), $"model {model.Name}: hash changed in the round trip");
            Assert.Equal(model.Name, loaded.Name);
            Assert.True(bytes.AsSpan().SequenceEqual(ModelFile.ToBytes(loaded)), $"model {model.Name}: saving the loaded model gives other bytes");
        }
    }

    [Fact]
    public void PathAndStreamRoundTrips()
    {
        var model = ModelZoo.Vgg3(4);
        string path = Path.Combine(Path.GetTempPath(), $"hepbnn-{Guid.NewGuid():N}.hbnn");
        try
        {
            ModelFile.Save(model, path);
            Assert.Equal(ModelHash.Compute(model), ModelHash.Compute(ModelFile.Load(path)));
            using var ms = new MemoryStream();
            ModelFile.Save(model, ms);
            ms.Position = 0;
            Assert.Equal(ModelHash.Compute(model), ModelHash.Compute(ModelFile.Load(ms)));
            // a non-seekable stream is read in bounded chunks
            using var pipe = new NonSeekable(File.ReadAllBytes(path));
            Assert.Equal(ModelHash.Compute(model), ModelHash.Compute(ModelFile.Load(pipe)));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void LoadedModelComputesTheSameScores()
    {
        foreach (int seed in new[] { 3, 7, 11 })
        {
            var model = RandomNetworks.Generate(seed);
            var loaded = ModelFile.FromBytes(ModelFile.ToBytes(model));
            var image = ModelZoo.RandomImages(model.InputShape, 1, seed);
            Assert.Equal(ReferenceEngine.Scores(model, image), ReferenceEngine.Scores(loaded, image));
        }
    }

    [Fact]
    public void MissingFileIsOneClearError()
    {
        var e = Assert.Throws<HepBnnException>(() => ModelFile.Load("/nonexistent/dir/m.hbnn"));
        Assert.Contains("not found", e.Message);
    }

    sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }
}
