using HepBnn.Model;
using HepBnn.Runtime;

namespace HepBnn.Tests.Runtime;

/// <summary>Bad arguments to a session give one clear <see cref="HepBnnException"/>, never another exception type.</summary>
public class SessionArgumentTests
{
    static BnnModel Model() => new ModelBuilder(new Shape3(4, 4, 1), 1).InputConv(8).BnSign().Flatten().Dense(3).Build("args");

    [Fact]
    public void ShortScoreBufferForFinalScores()
    {
        using var session = new InferenceSession(Model(), "cpu.scalar");
        var e = Assert.Throws<HepBnnException>(() => session.Run(new byte[16], 1, new double[2]));
        Assert.Contains("score buffer", e.Message);
    }

    [Fact]
    public void BatchTooLargeForAnyBuffer()
    {
        // 65536 samples of a 4096x4096 image (the largest input a model may declare): far beyond the largest array.
        var big = new ModelBuilder(new Shape3(4096, 4096, 1), 1).InputConv(1, 64, 64, 0).BnSign().Conv(1, 64, 64, 0).BnSign().Flatten().Dense(2).Build("big");
        var e = Assert.Throws<HepBnnException>(() => new InferenceSession(big, "cpu.scalar", new SessionOptions { MaxBatch = 65536 }));
        Assert.Contains("of activation buffers, the limit is", e.Message);
    }

    [Fact]
    public void BlockWithAbsurdBorderTablesIsUnsupportedNotAllocated()
    {
        // 64x64 kernel with padding 63: 127x127 border classes x 1100 channels exceed the CPU kernels' table bound.
        var model = new ModelBuilder(new Shape3(64, 64, 1), 1).InputConv(1, 1, 1, 0).BnSign().Conv(1100, 64, 1, 63).Build("absurd");
        var e = Assert.Throws<HepBnnException>(() => new InferenceSession(model, "cpu.scalar"));
        Assert.Contains("does not support block conv2", e.Message);
    }
}
