using HepBnn.Formats.Datasets;
using Xunit;

namespace HepBnn.Tests.Support;

/// <summary>Where the real data sets are on this machine, or why they are not. Fashion-MNIST: the Debian package
/// dataset-fashion-mnist. CIFAR-10: HEPBNN_CIFAR10_DIR, else a <c>shared/data/cifar-10-batches-bin</c> beside the
/// checkout or above it (the project keeps the official files in ../shared).</summary>
public static class RealData
{
    public const string Cifar10Variable = "HEPBNN_CIFAR10_DIR";

    public static string? FashionMnist() =>
        File.Exists(Path.Combine(DatasetDirectory.FashionMnistPackageDir, "t10k-images-idx3-ubyte.gz")) ? DatasetDirectory.FashionMnistPackageDir : null;

    public static string? Cifar10()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(Cifar10Variable) is { Length: > 0 } env) candidates.Add(env);
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            candidates.Add(Path.Combine(d.FullName, "shared", "data", "cifar-10-batches-bin"));
        return candidates.FirstOrDefault(c => File.Exists(Path.Combine(c, "test_batch.bin")) || File.Exists(Path.Combine(c, "test_batch.bin.gz")));
    }

    public static string? WhyMissing(string dataset) => dataset switch
    {
        "fashion-mnist" => FashionMnist() is null
            ? $"Fashion-MNIST is not installed here ({DatasetDirectory.FashionMnistPackageDir}; apt-get install dataset-fashion-mnist)" : null,
        "cifar10" => Cifar10() is null
            ? $"the CIFAR-10 test batch is not here (set {Cifar10Variable} to a cifar-10-batches-bin folder, or keep ../shared/data)" : null,
        _ => $"unknown data set {dataset}",
    };
}

/// <summary>A fact that reports skipped, with the reason, where the named real data set ("fashion-mnist", "cifar10") is absent.</summary>
public sealed class RealDataFactAttribute : FactAttribute
{
    public RealDataFactAttribute(string dataset)
    {
        if (RealData.WhyMissing(dataset) is { } why) Skip = why;
    }
}
