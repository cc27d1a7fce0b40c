namespace HepBnn.Formats.Datasets;

/// <summary>The formats a dataset directory can hold, recognised by their official file names.</summary>
public enum DatasetFormat { Idx, Cifar10 }

/// <summary>
/// Opens the test (or training) split of a dataset directory, recognising the format from the files in it:
/// IDX as in MNIST / Fashion-MNIST (<c>t10k-images-idx3-ubyte</c> + <c>t10k-labels-idx1-ubyte</c>, or <c>train-…</c>)
/// or CIFAR-10 binary (<c>test_batch.bin</c>, <c>data_batch_1..5.bin</c>); each file raw or with <c>.gz</c>.
/// </summary>
public static class DatasetDirectory
{
    /// <summary>Where the Debian/Ubuntu package <c>dataset-fashion-mnist</c> installs the official files.</summary>
    public const string FashionMnistPackageDir = "/usr/share/datasets/fashion-mnist";

    /// <summary>Class names of the datasets the files identify (Fashion-MNIST's IDX files do not say it is not MNIST,
    /// so IDX names come from the caller or the model).</summary>
    public static readonly string[] Cifar10ClassNames =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
    public static readonly string[] FashionMnistClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static DatasetFormat Detect(string directory)
    {
        if (!Directory.Exists(directory))
            throw new HepBnnException(File.Exists(directory)
                ? $"dataset '{directory}' is a file; give the directory that holds the dataset's files"
                : $"dataset directory '{directory}' does not exist");
        if (Find(directory, "test_batch.bin") is not null || Find(directory, "data_batch_1.bin") is not null) return DatasetFormat.Cifar10;
        if (Find(directory, "t10k-images-idx3-ubyte") is not null || Find(directory, "train-images-idx3-ubyte") is not null) return DatasetFormat.Idx;
        throw new HepBnnException($"dataset directory '{directory}' holds neither IDX files (t10k-images-idx3-ubyte[.gz] + t10k-labels-idx1-ubyte[.gz]) " +
                                  "nor CIFAR-10 binary batches (test_batch.bin[.gz])");
    }

    /// <summary>The test split (or the training split) of the dataset in <paramref name="directory"/>.</summary>
    public static LabeledImages Load(string directory, bool train = false)
    {
        var format = Detect(directory);
        if (format == DatasetFormat.Cifar10) return Cifar10Reader.ReadDirectory(directory, test: !train);
        string prefix = train ? "train" : "t10k";
        string images = Find(directory, $"{prefix}-images-idx3-ubyte") ?? throw Missing(directory, $"{prefix}-images-idx3-ubyte");
        string labels = Find(directory, $"{prefix}-labels-idx1-ubyte") ?? throw Missing(directory, $"{prefix}-labels-idx1-ubyte");
        return IdxReader.Read(images, labels, classes: 256);
    }

    /// <summary>The test split (or the training split) as a stream: CIFAR-10 batches decoded as they are read (the
    /// first images are ready after one batch's read, not the whole file's); IDX files read whole.</summary>
    public static LabeledImageStream Open(string directory, bool train = false) =>
        Detect(directory) == DatasetFormat.Cifar10
            ? Cifar10Stream.OpenDirectory(directory, test: !train)
            : new InMemoryImageStream(Load(directory, train));

    /// <summary>Class names for a dataset directory when its format names them (CIFAR-10), else null.</summary>
    public static IReadOnlyList<string>? KnownClassNames(string directory) =>
        Detect(directory) == DatasetFormat.Cifar10 ? Cifar10ClassNames : null;

    /// <summary>The file with its plain name or with .gz, or null.</summary>
    static string? Find(string directory, string name)
    {
        string plain = Path.Combine(directory, name);
        return File.Exists(plain) ? plain : File.Exists(plain + ".gz") ? plain + ".gz" : null;
    }

    static HepBnnException Missing(string directory, string name) =>
        new($"dataset directory '{directory}' has no {name} (nor {name}.gz)");
}
