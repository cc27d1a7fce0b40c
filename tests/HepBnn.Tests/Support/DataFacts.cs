using HepBnn.Formats.Datasets;
using HepBnn.Model;

namespace HepBnn.Tests.Support;

/// <summary>Where the real datasets and the shipped models are on this machine, if anywhere.</summary>
public static class TestData
{
    public static string? FashionMnistDir =>
        File.Exists(Path.Combine(DatasetDirectory.FashionMnistPackageDir, "t10k-images-idx3-ubyte.gz")) ? DatasetDirectory.FashionMnistPackageDir : null;

    /// <summary>HEPBNN_CIFAR10_DIR, else a <c>shared/data/cifar-10-batches-bin</c> beside the checkout or any parent
    /// (the project keeps the official files in ../shared).</summary>
    public static string? Cifar10Dir
    {
        get
        {
            if (Environment.GetEnvironmentVariable("HEPBNN_CIFAR10_DIR") is { Length: > 0 } env) return env;
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                string p = Path.Combine(d.FullName, "shared", "data", "cifar-10-batches-bin");
                if (File.Exists(Path.Combine(p, "test_batch.bin.gz")) || File.Exists(Path.Combine(p, "test_batch.bin"))) return p;
            }
            return null;
        }
    }
}

/// <summary>A fact that reports skipped, with the reason, where the Debian package dataset-fashion-mnist is not installed.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (TestData.FashionMnistDir is null)
            Skip = $"Fashion-MNIST not installed ({DatasetDirectory.FashionMnistPackageDir}: apt-get install dataset-fashion-mnist)";
    }
}

/// <summary>A fact that reports skipped where the official CIFAR-10 binary files are not found.</summary>
public sealed class Cifar10FactAttribute : FactAttribute
{
    public Cifar10FactAttribute()
    {
        if (TestData.Cifar10Dir is null) Skip = "CIFAR-10 not found (no ../shared/data/cifar-10-batches-bin; set HEPBNN_CIFAR10_DIR)";
    }
}

/// <summary>A fact that reports skipped until the named trained model is in models/ (or when a dataset it needs is absent).</summary>
public sealed class ShippedModelFactAttribute : FactAttribute
{
    public ShippedModelFactAttribute(string model, bool needsFashionMnist = false, bool needsCifar10 = false)
    {
        if (ShippedModels.Find(model) is null) Skip = $"models/{model} is not in this checkout yet";
        else if (needsFashionMnist && TestData.FashionMnistDir is null) Skip = "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
        else if (needsCifar10 && TestData.Cifar10Dir is null) Skip = "CIFAR-10 not found (set HEPBNN_CIFAR10_DIR)";
    }
}
