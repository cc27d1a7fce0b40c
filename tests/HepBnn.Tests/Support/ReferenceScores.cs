using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;

namespace HepBnn.Tests.Support;

/// <summary>The check every session test ends with: each sample's raw scores equal the reference engine's.</summary>
public static class ReferenceScores
{
    /// <summary>Asserts that sample n's scores (at n × <paramref name="scoresPerImage"/> in <paramref name="raw"/>) equal
    /// <see cref="ReferenceEngine.RawScores"/> of image n, for every sample of <paramref name="batch"/>; the failure names
    /// <paramref name="context"/> (seed, model, plan), the sample, the class and both values.</summary>
    public static void AssertMatch(BnnModel model, ReadOnlySpan<byte> images, int batch, int[] raw, int scoresPerImage, string context)
    {
        int size = (int)model.InputShape.Elements;
        for (int n = 0; n < batch; n++)
        {
            var expected = ReferenceEngine.RawScores(model, images.Slice(n * size, size));
            for (int k = 0; k < expected.Length; k++)
                Assert.True(expected[k] == raw[n * scoresPerImage + k],
                    $"{context}: sample {n} class {k} expected {expected[k]} got {raw[n * scoresPerImage + k]}");
        }
    }

    /// <summary>Runs <paramref name="session"/> on <paramref name="batch"/> random images of <paramref name="seed"/> (the score
    /// buffer pre-filled with int.MinValue, so a sample the session never writes fails) and asserts the reference's scores.</summary>
    public static void AssertSession(BnnModel model, InferenceSession session, int batch, int seed, string what)
    {
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var raw = new int[batch * session.ScoresPerImage];
        Array.Fill(raw, int.MinValue);
        session.Run(images, batch, raw);
        AssertMatch(model, images, batch, raw, session.ScoresPerImage, $"{what}, image seed {seed}, batch {batch}");
    }
}
