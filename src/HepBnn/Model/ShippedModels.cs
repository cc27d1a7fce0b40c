namespace HepBnn.Model;

/// <summary>
/// Finds the trained models and test samples shipped in the repository's <c>models/</c> folder, wherever the program
/// runs from: <c>HEPBNN_MODELS</c> if set, the <c>models/</c> folder copied next to the executable at build time, then
/// a <c>models/</c> folder in the executable's directory or the working directory or any of their parents (a clone
/// run with <c>dotnet run</c>, a test run from <c>bin/</c>).
/// </summary>
public static class ShippedModels
{
    public const string Vgg3FashionMnist = "vgg3-fashion-mnist.hbnn";
    public const string Vgg7Cifar10 = "vgg7-cifar10.hbnn";
    /// <summary>The first 500 official Fashion-MNIST test images and labels (IDX, gzip), for the demo and the tests.</summary>
    public const string FashionMnistSample = "samples/fashion-mnist-test-500";
    /// <summary>The first 100 official CIFAR-10 test images (binary batch, gzip).</summary>
    public const string Cifar10Sample = "samples/cifar10-test-100";

    /// <summary>The full path of <paramref name="relative"/> (a file or folder under models/), or null when not found.</summary>
    public static string? Find(string relative)
    {
        foreach (var dir in Candidates())
        {
            string p = Path.Combine(dir, relative);
            if (File.Exists(p) || Directory.Exists(p)) return Path.GetFullPath(p);
        }
        return null;
    }

    /// <summary>The models/ folders searched, in order.</summary>
    public static IEnumerable<string> Candidates()
    {
        if (Environment.GetEnvironmentVariable("HEPBNN_MODELS") is { Length: > 0 } env) yield return env;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string m = Path.Combine(d.FullName, "models");
                if (Directory.Exists(m)) yield return m;
            }
        }
    }
}
