using System.Text.RegularExpressions;
using HepBnn.Evaluation;
using HepBnn.Formats.Datasets;
using HepBnn.Formats.Native;
using HepBnn.Model;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Evaluation;

/// <summary>
/// The shipped trained models reach the accuracy their model card states: exactly on the full test set where the data
/// is here (CI installs dataset-fashion-mnist; CIFAR-10 is in ../shared on the project's machines), and within sampling
/// error on the bundled samples (always here). Skipped with the reason until the model files exist.
/// </summary>
public sealed class ShippedModelTests(ITestOutputHelper output)
{
    /// <summary>The full-test-set accuracy (percent) the card states as measured by the HepBnn engine.</summary>
    internal static double CardAccuracy(string modelPath)
    {
        string card = Path.ChangeExtension(modelPath, ".md");
        Assert.True(File.Exists(card), $"the model card {card} is missing");
        var lines = File.ReadAllLines(card);
        var percent = new Regex(@"(\d{1,3}(?:\.\d+)?)\s*%");
        foreach (var pick in new Func<string, bool>[]
                 {
                     l => l.Contains("HepBnn", StringComparison.OrdinalIgnoreCase) && l.Contains("accuracy", StringComparison.OrdinalIgnoreCase),
                     l => l.Contains("test accuracy", StringComparison.OrdinalIgnoreCase),
                 })
            foreach (var l in lines.Where(pick))
                if (percent.Match(l) is { Success: true } m) return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Fail($"{card} has no line like 'Test accuracy (HepBnn engine, full test set): 92.31%'");
        return 0;
    }

    EvaluationResult Evaluate(string model, string data)
    {
        var m = ModelFile.Load(ShippedModels.Find(model)!);
        var set = DatasetDirectory.Load(data);
        using var s = new InferenceSession(m, "cpu.mt-batch", new SessionOptions { MaxBatch = 256 });
        var r = DatasetEvaluator.Evaluate(s, set, dataName: data);
        output.WriteLine($"{model} on {data}: {100 * r.Accuracy:F2}% ({r.Confusion.Correct}/{r.Count}), {r.ImagesPerSecond:F0} images/s; class names: {(m.ClassNames is null ? "none" : string.Join(", ", m.ClassNames))}");
        return r;
    }

    /// <summary>A sample of n images is within 4 standard errors of the full set's accuracy (one-sided, from below).</summary>
    void SampleReachesCard(string model, string sample)
    {
        double card = CardAccuracy(ShippedModels.Find(model)!) / 100;
        var r = Evaluate(model, ShippedModels.Find(sample)!);
        double tolerance = 4 * Math.Sqrt(card * (1 - card) / r.Count);
        output.WriteLine($"card {100 * card:F2}%, lower bound {100 * (card - tolerance):F2}% for {r.Count} images");
        Assert.True(r.Accuracy >= card - tolerance,
            $"{model}: {100 * r.Accuracy:F2}% on the {r.Count} bundled images, the card's {100 * card:F2}% allows no less than {100 * (card - tolerance):F2}%");
    }

    void FullSetMatchesCard(string model, string data)
    {
        double card = CardAccuracy(ShippedModels.Find(model)!);
        var r = Evaluate(model, data);
        Assert.True(r.Count == 10_000, $"{data}: expected the 10,000-image test set, found {r.Count}");
        // the engine is deterministic: the card's figure (2 decimals) is reproduced exactly
        Assert.True(Math.Abs(100 * r.Accuracy - card) < 0.0051, $"{model}: {100 * r.Accuracy:F2}% on the full test set, the card says {card}%");
    }

    [ShippedModelFact(ShippedModels.Vgg3FashionMnist)]
    public void Vgg3ReachesItsCardOnTheBundledSample() => SampleReachesCard(ShippedModels.Vgg3FashionMnist, ShippedModels.FashionMnistSample);

    [ShippedModelFact(ShippedModels.Vgg7Cifar10)]
    public void Vgg7ReachesItsCardOnTheBundledSample() => SampleReachesCard(ShippedModels.Vgg7Cifar10, ShippedModels.Cifar10Sample);

    [ShippedModelFact(ShippedModels.Vgg3FashionMnist, needsFashionMnist: true)]
    public void Vgg3FullFashionMnistTestSetMatchesItsCard() => FullSetMatchesCard(ShippedModels.Vgg3FashionMnist, TestData.FashionMnistDir!);

    [ShippedModelFact(ShippedModels.Vgg7Cifar10, needsCifar10: true)]
    public void Vgg7FullCifar10TestSetMatchesItsCard() => FullSetMatchesCard(ShippedModels.Vgg7Cifar10, TestData.Cifar10Dir!);
}
