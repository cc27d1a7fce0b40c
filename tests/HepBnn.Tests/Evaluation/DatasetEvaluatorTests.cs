using HepBnn.Evaluation;
using HepBnn.Formats.Datasets;
using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;
using HepBnn.Tests.Formats;

namespace HepBnn.Tests.Evaluation;

/// <summary>Evaluation on generated datasets: the confusion matrix is the one the reference implementation's predictions
/// give, whatever configuration or batch size runs the model; bad combinations of model and data fail clearly.</summary>
public sealed class DatasetEvaluatorTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-eval-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static BnnModel Grey(int seed) => new ModelBuilder(new Shape3(8, 8, 1), seed)
        .InputConv(6).Pool().BnSign()
        .Flatten().Dense(16).BnSign()
        .Dense(4).ScoreBn()
        .Build($"grey-{seed}");

    static int RefPredict(BnnModel m, ReadOnlySpan<byte> image) => InferenceSession.ArgMax(ReferenceEngine.Scores(m, image));

    /// <summary>Labels made from the reference predictions with a known pattern of errors; the dataset written as
    /// gzip IDX files and read back through the directory detection, as `hepbnn eval` does.</summary>
    [Fact]
    public void ConfusionMatrixMatchesTheReference()
    {
        var m = Grey(5);
        const int n = 90;
        var images = ModelZoo.RandomImages(m.InputShape, n, 11);
        var refPred = Enumerable.Range(0, n).Select(i => RefPredict(m, images.AsSpan(i * 64, 64))).ToArray();
        // every third image mislabelled by +1, every fifth (not third) by +2
        var labels = refPred.Select((p, i) => (byte)((p + (i % 3 == 0 ? 1 : i % 5 == 0 ? 2 : 0)) % 4)).ToArray();
        var expected = new long[4, 4];
        for (int i = 0; i < n; i++) expected[labels[i], refPred[i]]++;

        File.WriteAllBytes(Path.Combine(_dir, "t10k-images-idx3-ubyte.gz"), DatasetGzipTests.Gzip(DatasetGzipTests.Idx([n, 8, 8], images)));
        File.WriteAllBytes(Path.Combine(_dir, "t10k-labels-idx1-ubyte.gz"), DatasetGzipTests.Gzip(DatasetGzipTests.Idx([n], labels)));
        var data = DatasetDirectory.Load(_dir);
        using var session = new InferenceSession(m, "cpu.simd256", new SessionOptions { MaxBatch = 16 });
        var progress = new List<int>();
        var r = DatasetEvaluator.Evaluate(session, data, progress: progress.Add);

        Assert.Equal(refPred, r.Predictions);
        for (int a = 0; a < 4; a++)
            for (int p = 0; p < 4; p++)
                Assert.True(expected[a, p] == r.Confusion[a, p], $"cell ({a}, {p}): expected {expected[a, p]}, got {r.Confusion[a, p]}");
        int correct = Enumerable.Range(0, n).Count(i => i % 3 != 0 && i % 5 != 0);
        Assert.Equal(correct, r.Confusion.Correct);
        Assert.Equal((double)correct / n, r.Accuracy, 12);
        for (int c = 0; c < 4; c++)
        {
            long support = labels.Count(l => l == c);
            Assert.Equal(support, r.Confusion.Support(c));
            if (support > 0) Assert.Equal((double)expected[c, c] / support, r.Confusion.ClassAccuracy(c), 12);
        }
        Assert.Equal([16, 32, 48, 64, 80, 90], progress);
        Assert.True(r.InferenceSeconds > 0);
    }

    /// <summary>The same predictions from every CPU configuration and batch size, including a last partial batch and --limit.</summary>
    [Fact]
    public void PredictionsDoNotDependOnConfigurationOrBatch()
    {
        var m = ModelZoo.Vgg3(3);
        const int n = 70;
        var images = ModelZoo.RandomImages(m.InputShape, n, 4);
        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        var data = new LabeledImages(m.InputShape, images, labels, 10);
        int[]? first = null;
        foreach (var (config, batch) in new[] { ("cpu.scalar", 70), ("cpu.simd256", 9), ("cpu.mt-batch", 32), ("cpu.mt-rows", 1) })
        {
            using var s = new InferenceSession(m, config, new SessionOptions { MaxBatch = batch });
            var r = DatasetEvaluator.Evaluate(s, data);
            first ??= r.Predictions;
            Assert.True(first.SequenceEqual(r.Predictions), $"{config} at batch {batch} predicted differently");
        }
        using var limited = new InferenceSession(m, "cpu.simd256", new SessionOptions { MaxBatch = 8 });
        var l = DatasetEvaluator.Evaluate(limited, data, limit: 21);
        Assert.Equal(first![..21], l.Predictions);
        Assert.Equal(21, l.Confusion.Total);
        // spot-check the shared predictions against the reference
        for (int i = 0; i < n; i += 10) Assert.Equal(RefPredict(m, images.AsSpan(i * 784, 784)), first[i]);
    }

    [Fact]
    public void MismatchedDataFailsClearly()
    {
        var m = Grey(1);
        using var s = new InferenceSession(m, "cpu.scalar", new SessionOptions { MaxBatch = 4 });
        var wrongShape = new LabeledImages(new Shape3(28, 28, 1), new byte[2 * 784], [0, 1], 10);
        Assert.Contains("takes 8x8x1", Assert.Throws<HepBnnException>(() => DatasetEvaluator.Evaluate(s, wrongShape, dataName: "d")).Message);
        var badLabel = new LabeledImages(m.InputShape, new byte[3 * 64], [0, 3, 4], 10);
        var e = Assert.Throws<HepBnnException>(() => DatasetEvaluator.Evaluate(s, badLabel, dataName: "d"));
        Assert.Contains("image 2 has label 4", e.Message);
        Assert.Contains("only 4 classes", e.Message);
        var ok = new LabeledImages(m.InputShape, new byte[3 * 64], [0, 1, 2], 10);
        Assert.Contains("--limit 0", Assert.Throws<HepBnnException>(() => DatasetEvaluator.Evaluate(s, ok, limit: 0)).Message);
    }

    [Fact]
    public void ConfusionMatrixBasics()
    {
        var cm = new ConfusionMatrix(3);
        cm.Add(0, 0); cm.Add(0, 2); cm.Add(2, 2);
        Assert.Equal(3, cm.Total);
        Assert.Equal(2, cm.Correct);
        Assert.Equal(0.5, cm.ClassAccuracy(0));
        Assert.True(double.IsNaN(cm.ClassAccuracy(1)));
        Assert.Equal([[1L, 0, 1], [0, 0, 0], [0, 0, 1]], cm.Rows());
        Assert.Throws<HepBnnException>(() => cm.Add(3, 0));
        Assert.Throws<HepBnnException>(() => cm.Add(0, -1));
    }
}
