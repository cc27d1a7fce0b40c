using Xunit;

namespace HepBnn.Tests.Support;

/// <summary>Where the real data sets are on this machine (Fashion-MNIST: the Debian package; CIFAR-10: HEPBNN_CIFAR10 or a
/// shared/data/cifar-10-batches-bin folder beside or above the repository), or why they are not.</summary>
public static class RealData
{
    public const string FashionMnistDir = "/usr/share/datasets/fashion-mnist";

    public static string? FashionMnist() =>
        File.Exists(Path.Combine(FashionMnistDir, "t10k-images-idx3-ubyte.gz")) ? FashionMnistDir : null;

    public static string? Cifar10()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("HEPBNN_CIFAR10") is { Length: > 0 } env) candidates.Add(env);
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "shared", "data", "cifar-10-batches-bin"));
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "test_batch.bin")) || File.Exists(Path.Combine(c, "test_batch.bin.gz")));
    }

    public static string? WhyMissing(string dataset) => dataset switch
    {
        "fashion-mnist" => FashionMnist() is null ? $"Fashion-MNIST is not installed here ({FashionMnistDir}; apt-get install dataset-fashion-mnist)" : null,
        "cifar10" => Cifar10() is null ? "the CIFAR-10 test batch is not here (set HEPBNN_CIFAR10 to a cifar-10-batches-bin folder, or ../shared/data)" : null,
        _ => $"unknown data set {dataset}",
    };
}

/// <summary>A theory that needs a real data set: reported as skipped, with the reason, where the data is absent.</summary>
public sealed class RealDataTheoryAttribute : TheoryAttribute
{
    public RealDataTheoryAttribute(string dataset)
    {
        if (RealData.WhyMissing(dataset) is { } why) Skip = why;
    }
}
