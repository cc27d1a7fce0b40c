using HepBnn.Model;

namespace HepBnn.Tests.Formats;

/// <summary>Models for format tests: the zoo, the random networks, and tiny ones (small files for exhaustive truncation
/// and fast fuzzing) covering every layer kind.</summary>
public static class FormatTestModels
{
    /// <summary>Every layer kind in a few hundred bytes: normalized image conv, pool on integers, pool on bits, dense, score BN.</summary>
    public static BnnModel Tiny(int seed) => new ModelBuilder(new Shape3(6, 5, 2), seed)
        .InputConv(3, normalize: true).Pool(2, 1).BnSign()
        .Conv(4, kernel: 3, stride: 1, padding: 1).BnSign().Pool(2, 2)
        .Flatten().Dense(5).BnSign()
        .Dense(3).ScoreBn()
        .Build($"tiny-{seed}");

    /// <summary>No normalization, dense straight on a spatial tensor (no Flatten layer), no score BN.</summary>
    public static BnnModel TinyPlain(int seed) => new ModelBuilder(new Shape3(4, 4, 1), seed)
        .InputConv(2, kernel: 3, padding: 0).BnSign()
        .Dense(4)
        .Build($"tiny-plain-{seed}");

    public static IEnumerable<BnnModel> RoundTripSet(int randomCount)
    {
        yield return ModelZoo.Vgg3(1);
        yield return ModelZoo.Vgg7(1);
        yield return Tiny(1);
        yield return TinyPlain(2);
        for (int seed = 0; seed < randomCount; seed++) yield return RandomNetworks.Generate(seed);
    }
}
