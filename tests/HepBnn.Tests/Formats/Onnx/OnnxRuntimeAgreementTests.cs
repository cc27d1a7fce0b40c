using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>The independent check: ONNX Runtime (CPU, float32/float64 arithmetic) runs HepBnn's exact export and must
/// reproduce the engine's and the reference's integer sums of the last layer exactly, and the same argmax.</summary>
public class OnnxRuntimeAgreementTests
{
    static void AssertAgrees(BnnModel model, int batch, int seed, string config = "cpu.mt-rows")
    {
        var onnx = OnnxExporter.Export(model, new OnnxExportOptions { RawScoresOutput = true });
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var ort = OrtRunner.Run(onnx, model.InputShape, images, batch);
        using var session = new InferenceSession(model, config, new SessionOptions { MaxBatch = batch });
        int k = session.ScoresPerImage;
        var raw = new int[batch * k];
        session.Run(images, batch, raw);
        var scores = new double[batch * k];
        session.Run(images, batch, scores);
        var ortRaw = ort["raw_scores"];
        var ortScores = ort["scores"];
        Assert.Equal(batch * k, ortRaw.Length);
        int per = (int)model.InputShape.Elements;
        for (int n = 0; n < batch; n++)
        {
            var reference = ReferenceEngine.RawScores(model, images.AsSpan(n * per, per));
            for (int c = 0; c < k; c++)
            {
                Assert.True(reference[c] == raw[n * k + c], $"{model.Name} seed {seed}: engine vs reference, sample {n} class {c}");
                Assert.True(ortRaw[n * k + c] == raw[n * k + c],
                    $"{model.Name} seed {seed}: ONNX Runtime raw score {ortRaw[n * k + c]} vs engine {raw[n * k + c]} (sample {n}, class {c})");
            }
            Assert.True(InferenceSession.ArgMax(scores.AsSpan(n * k, k)) == InferenceSession.ArgMax(ortScores.AsSpan(n * k, k)),
                $"{model.Name} seed {seed}: argmax differs for sample {n}");
            for (int c = 0; c < k; c++)
                Assert.True(Math.Abs(ortScores[n * k + c] - scores[n * k + c]) <= 1e-9 * Math.Max(1, Math.Abs(scores[n * k + c])),
                    $"{model.Name} seed {seed}: score {ortScores[n * k + c]} vs {scores[n * k + c]}");
        }
    }

    [Fact] public void Vgg3() => AssertAgrees(ModelZoo.Vgg3(2), batch: 4, seed: 21);
    [Fact] public void Vgg7() => AssertAgrees(ModelZoo.Vgg7(2), batch: 2, seed: 22);
    [Fact] public void TinyModels() { AssertAgrees(FormatTestModels.Tiny(5), 5, 23); AssertAgrees(FormatTestModels.TinyPlain(6), 5, 24); }

    [Fact]
    public void RandomNetworks()
    {
        for (int seed = 200; seed < 240; seed++) AssertAgrees(global::HepBnn.Model.RandomNetworks.Generate(seed), batch: 3, seed);
    }

    [Fact]
    public void Float32ExportRunsInOnnxRuntime()
    {
        // the fast float graph used as the benchmark baseline: it must run and give scores of the right shape
        var model = ModelZoo.Vgg3(2);
        var onnx = OnnxExporter.Export(model, new OnnxExportOptions { Precision = OnnxPrecision.Float32 });
        var images = ModelZoo.RandomImages(model.InputShape, 3, 5);
        var ort = OrtRunner.Run(onnx, model.InputShape, images, 3);
        Assert.Equal(30, ort["scores"].Length);
        Assert.All(ort["scores"], v => Assert.True(double.IsFinite(v)));
    }
}
