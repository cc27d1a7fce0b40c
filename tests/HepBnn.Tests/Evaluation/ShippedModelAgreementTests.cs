using System.IO.Compression;
using System.Text.Json;
using HepBnn.Formats.Datasets;
using HepBnn.Formats.Native;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Runtime;
using HepBnn.Tests.Support;
using Xunit;

namespace HepBnn.Tests.Evaluation;

/// <summary>
/// The trained models shipped in models/ (training/train_bnn.py on the H200, see the model cards models/*.md):
/// they load, their PyTorch ONNX export (.onnx.gz) imports to the same model, and on the full real test sets (when the
/// data is on this machine; skipped with the reason otherwise) the engine agrees with PyTorch's float64 eval-mode
/// predictions (docs/results/training/*-torch-predictions.json.gz) image for image, integer scores included.
/// (ShippedModelTests checks the cards' accuracy through the evaluator.)
/// </summary>
public class ShippedModelAgreementTests(ITestOutputHelper output)
{
    public static readonly TheoryData<string> Names = new() { "vgg3-fashion-mnist", "vgg7-cifar10" };

    /// <summary>Engine accuracy on the full test set, as the model cards state it (correct images out of 10,000).</summary>
    static readonly Dictionary<string, int> CardCorrect = new() { ["vgg3-fashion-mnist"] = 9253, ["vgg7-cifar10"] = 9025 };

    static readonly Dictionary<string, string[]> CardClasses = new()
    {
        ["vgg3-fashion-mnist"] = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
        ["vgg7-cifar10"] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    };

    internal static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "HepBnn.sln")) && Directory.Exists(Path.Combine(d.FullName, "models"))) return d.FullName;
        throw new InvalidOperationException($"no repository root with models/ above {AppContext.BaseDirectory}");
    }

    static string ModelPath(string name, string ext) => Path.Combine(RepoRoot(), "models", name + ext);

    [Theory]
    [MemberData(nameof(Names))]
    public void ShippedModelLoadsAndItsOnnxImportsToTheSameModel(string name)
    {
        var native = ModelFile.Load(ModelPath(name, ".hbnn"));
        var onnx = OnnxImporter.ImportFile(ModelPath(name, ".onnx.gz"));
        Assert.Equal(name, native.Name);
        Assert.Equal(ModelHash.Compute(native), ModelHash.Compute(onnx));
        Assert.Equal(CardClasses[name], native.ClassNames);
        Assert.Equal(name.StartsWith("vgg3") ? ModelZoo.Vgg3().Layers.Select(l => l.Kind) : ModelZoo.Vgg7().Layers.Select(l => l.Kind),
            native.Layers.Select(l => l.Kind));
    }

    static LabeledImages TestSet(string name) =>
        DatasetDirectory.Load(name.StartsWith("vgg3") ? RealData.FashionMnist()! : RealData.Cifar10()!);

    sealed record TorchPredictions(int[] Predictions, int[][] RawScores);

    static TorchPredictions LoadTorch(string name)
    {
        var path = Path.Combine(RepoRoot(), "docs", "results", "training", name + "-torch-predictions.json.gz");
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var doc = JsonDocument.Parse(gz);
        var r = doc.RootElement;
        return new TorchPredictions(r.GetProperty("predictions").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            r.GetProperty("raw_scores").EnumerateArray().Select(a => a.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray());
    }

    [RealDataFact("fashion-mnist")]
    public void Vgg3FullTestSet() => FullTestSetAccuracyAndAgreementWithPyTorch("vgg3-fashion-mnist");

    [RealDataFact("cifar10")]
    public void Vgg7FullTestSet() => FullTestSetAccuracyAndAgreementWithPyTorch("vgg7-cifar10");

    void FullTestSetAccuracyAndAgreementWithPyTorch(string name)
    {
        var data = TestSet(name);
        var model = ModelFile.Load(ModelPath(name, ".hbnn"));
        var torch = LoadTorch(name);
        Assert.Equal(data.Count, torch.Predictions.Length);
        const int batch = 250;
        int k = model.NumClasses, correct = 0, agree = 0, rawEqual = 0;
        var disagreements = new List<string>();
        using var session = new InferenceSession(model, "cpu.mt-batch", new SessionOptions { MaxBatch = batch });
        var raw = new int[batch * k];
        var norm = HepBnn.Ops.BlockCompiler.Compile(model)[^1].ScoreNorm;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            session.Run(data.Batch(start, n), n, raw);
            var scores = raw.Select((v, j) => norm is null ? v : HepBnn.Ops.BatchNormFold.ScoreAffine(norm, j % k, v)).ToArray();
            for (int i = 0; i < n; i++)
            {
                int img = start + i;
                int pred = InferenceSession.ArgMax(scores.AsSpan(i * k, k));
                if (pred == data.Labels[img]) correct++;
                bool sameRaw = raw.AsSpan(i * k, k).SequenceEqual(torch.RawScores[img]);
                if (sameRaw) rawEqual++;
                if (pred == torch.Predictions[img]) agree++;
                else disagreements.Add($"image {img}: engine {pred} PyTorch {torch.Predictions[img]} (raw scores {(sameRaw ? "identical" : "differ")})");
            }
        }
        string summary = $"{name}: engine accuracy {correct}/{data.Count}, argmax agreement with PyTorch float64 {agree}/{data.Count}, " +
                         $"identical integer scores {rawEqual}/{data.Count}" + (disagreements.Count > 0 ? "; " + string.Join("; ", disagreements.Take(20)) : "");
        output.WriteLine(summary);
        Assert.True(correct == CardCorrect[name], summary);
        Assert.True(agree * 1000L >= 999L * data.Count, summary);
    }
}
