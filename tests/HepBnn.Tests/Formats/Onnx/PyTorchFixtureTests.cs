using System.Text.Json;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>
/// Imports ONNX files produced by a REAL PyTorch export (Fixtures/make_fixture.py, run with torch 2.11 / onnx 1.23 /
/// onnxruntime 1.30; both the TorchScript exporter and the dynamo exporter, which folds BatchNorm into the weights) and
/// checks the imported model against PyTorch's own outputs saved by that script.
/// </summary>
public class PyTorchFixtureTests
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Formats", "Onnx", "Fixtures");

    sealed record Expected(int[][] Inputs, double[][] ScoresFloat32, double[][] ScoresFloat64, int[][] RawScores, int[] ArgmaxFloat64);

    static Expected Load()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, "bnn_small_expected.json")));
        var r = doc.RootElement;
        T[][] Rows<T>(string name, Func<JsonElement, T> f) => r.GetProperty(name).EnumerateArray().Select(a => a.EnumerateArray().Select(f).ToArray()).ToArray();
        return new Expected(Rows("inputs", e => e.GetInt32()), Rows("scores_float32", e => e.GetDouble()), Rows("scores_float64", e => e.GetDouble()),
            Rows("raw_scores", e => e.GetInt32()), r.GetProperty("argmax_float64").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    /// <summary>NCHW ints of the fixture → NHWC bytes.</summary>
    static byte[] Image(int[] nchw, Shape3 s)
    {
        var b = new byte[s.Elements];
        for (int c = 0; c < s.C; c++)
            for (int y = 0; y < s.H; y++)
                for (int x = 0; x < s.W; x++) b[(y * s.W + x) * s.C + c] = checked((byte)nchw[(c * s.H + y) * s.W + x]);
        return b;
    }

    [Theory]
    [InlineData("bnn_small_torchscript.onnx", 1e-9)]
    [InlineData("bnn_small_dynamo.onnx", 1e-5)] // BatchNorm folded into float32 weights/bias by the exporter
    public void ImportMatchesPyTorch(string file, double scoreTolerance)
    {
        var model = OnnxImporter.ImportFile(Path.Combine(Dir, file));
        var e = Load();
        Assert.Equal(new Shape3(16, 16, 3), model.InputShape);
        using var session = new InferenceSession(model, "cpu.mt-rows", new SessionOptions { MaxBatch = 1 });
        for (int n = 0; n < e.Inputs.Length; n++)
        {
            var image = Image(e.Inputs[n], model.InputShape);
            var raw = new int[10];
            session.Run(image, 1, raw);
            Assert.Equal(e.RawScores[n], raw);
            Assert.Equal(e.RawScores[n].Select(v => (double)v), ReferenceEngine.RawScores(model, image));
            var scores = ReferenceEngine.Scores(model, image);
            for (int c = 0; c < 10; c++)
                Assert.True(Math.Abs(scores[c] - e.ScoresFloat64[n][c]) <= scoreTolerance * Math.Max(1, Math.Abs(e.ScoresFloat64[n][c])),
                    $"{file} image {n} class {c}: {scores[c]:R} vs PyTorch float64 {e.ScoresFloat64[n][c]:R}");
            Assert.Equal(e.ArgmaxFloat64[n], InferenceSession.ArgMax(scores));
        }
    }

    [Fact]
    public void TorchScriptFixtureHasTheExpectedLayers()
    {
        var model = OnnxImporter.ImportFile(Path.Combine(Dir, "bnn_small_torchscript.onnx"));
        Assert.Equal(["InputConv2d", "BatchNormSign", "MaxPool2d", "BinaryConv2d", "MaxPool2d", "BatchNormSign", "Flatten",
                      "BinaryDense", "BatchNormSign", "BinaryDense", "ScoreBatchNorm"], model.Layers.Select(l => l.Kind));
        var norm = ((InputConv2d)model.Layers[0]).Normalization!;
        Assert.Equal(255 * 0.25, norm.Divisor, 12);               // x/255 then /std folds into one divisor
        Assert.Equal(255 * 0.4914, norm.Offset[0], 4);             // (x/255 − mean) → offset 255·mean
    }

    [Fact]
    public void FixturesStaySmall()
    {
        foreach (var f in Directory.GetFiles(Dir, "*.onnx")) Assert.True(new FileInfo(f).Length < 200_000, f);
    }
}
