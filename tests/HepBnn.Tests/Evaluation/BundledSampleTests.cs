using System.Text.RegularExpressions;
using HepBnn.Evaluation;
using HepBnn.Formats.Datasets;
using HepBnn.Formats.Native;
using HepBnn.Model;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Evaluation;

/// <summary>
/// The shipped trained models on the bundled samples of real test images (always in the checkout): within sampling error
/// of their card's full-test accuracy, and through classify's photo pipeline. (The full test sets, where present, are
/// checked exactly in Models/ShippedModelTests.) Skipped with the reason when a model file is absent.
/// </summary>
public sealed class BundledSampleTests(ITestOutputHelper output)
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

    static void SkipUnlessShipped(string model)
    {
        if (ShippedModels.Find(model) is null) Assert.Skip($"models/{model} is not in this checkout");
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
        SkipUnlessShipped(model);
        double card = CardAccuracy(ShippedModels.Find(model)!) / 100;
        var r = Evaluate(model, ShippedModels.Find(sample)!);
        double tolerance = 4 * Math.Sqrt(card * (1 - card) / r.Count);
        output.WriteLine($"card {100 * card:F2}%, lower bound {100 * (card - tolerance):F2}% for {r.Count} images");
        Assert.True(r.Accuracy >= card - tolerance,
            $"{model}: {100 * r.Accuracy:F2}% on the {r.Count} bundled images, the card's {100 * card:F2}% allows no less than {100 * (card - tolerance):F2}%");
    }

    /// <summary>The bundled test images as "product photos" (dark object on white, 8× larger, off-centre on a wider
    /// canvas, PNG): classify's decode → invert → trim → pad → resize pipeline keeps the model's accuracy on them.</summary>
    [Fact]
    public void Vgg3ClassifiesPhotosOfTheSampleImages()
    {
        SkipUnlessShipped(ShippedModels.Vgg3FashionMnist);
        var m = ModelFile.Load(ShippedModels.Find(ShippedModels.Vgg3FashionMnist)!);
        var set = DatasetDirectory.Load(ShippedModels.Find(ShippedModels.FashionMnistSample)!);
        const int n = 40, scale = 8, margin = 50;
        using var s = new InferenceSession(m, "cpu.simd256", new SessionOptions { MaxBatch = n });
        var direct = s.Predict(set.Batch(0, n), n);
        var photos = new byte[n * 784];
        for (int i = 0; i < n; i++)
        {
            var img = set.Image(i);
            int w = 28 * scale + margin, h = 28 * scale;
            using var bmp = new SkiaSharp.SKBitmap(w, h);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    byte v = x >= margin / 5 && x < margin / 5 + 28 * scale ? (byte)(255 - img[(y / scale) * 28 + (x - margin / 5) / scale]) : (byte)255;
                    bmp.SetPixel(x, y, new SkiaSharp.SKColor(v, v, v));
                }
            var decoded = HepBnn.Formats.Images.ImageDecoder.Decode(bmp.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100).ToArray());
            var c = HepBnn.Formats.Images.ModelInputConverter.Convert(decoded, m.InputShape);
            Assert.True(c.Inverted, c.Description);
            c.Input.CopyTo(photos, i * 784);
        }
        var fromPhotos = s.Predict(photos, n);
        int directHits = Enumerable.Range(0, n).Count(i => direct[i] == set.Labels[i]);
        int photoHits = Enumerable.Range(0, n).Count(i => fromPhotos[i] == set.Labels[i]);
        int same = Enumerable.Range(0, n).Count(i => fromPhotos[i] == direct[i]);
        output.WriteLine($"{n} images: {directHits} right from the IDX bytes, {photoHits} from the photos; {same} identical predictions");
        // trimming re-frames each object slightly (the originals are not cut exactly to their bounding box): allow 10%
        Assert.True(photoHits >= directHits - n / 10, $"photos: {photoHits}/{n} right, the original images {directHits}/{n}");
        Assert.True(same >= n - n / 8, $"only {same}/{n} photo predictions equal the original images' predictions");
    }

    [Fact]
    public void Vgg3ReachesItsCardOnTheBundledSample() => SampleReachesCard(ShippedModels.Vgg3FashionMnist, ShippedModels.FashionMnistSample);

    [Fact]
    public void Vgg7ReachesItsCardOnTheBundledSample() => SampleReachesCard(ShippedModels.Vgg7Cifar10, ShippedModels.Cifar10Sample);
}
