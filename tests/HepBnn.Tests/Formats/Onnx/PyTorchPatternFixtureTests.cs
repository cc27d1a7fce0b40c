using System.Text.Json;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;
using Xunit;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>
/// The ways PyTorch code writes a BNN, exported by PyTorch itself (Fixtures/patterns/, made by
/// Fixtures/make_pattern_fixtures.py on the GPU machine with torch 2.11, TorchScript exporter, opset 17): each import
/// is checked against PyTorch's float64 outputs saved with it (identical integer sums and argmax, scores within 1e-9)
/// and against ONNX Runtime on the same file (argmax, scores within float32 noise); what cannot be mapped exactly is
/// refused with one message naming the node.
/// </summary>
public class PyTorchPatternFixtureTests
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "Formats", "Onnx", "Fixtures", "patterns");

    sealed record Expected(int[][] Inputs, double[][] ScoresFloat64, int[][] RawScores, int[] Argmax);

    static Expected Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Dir, name + ".json")));
        var r = doc.RootElement;
        T[][] Rows<T>(string p, Func<JsonElement, T> f) => r.GetProperty(p).EnumerateArray().Select(a => a.EnumerateArray().Select(f).ToArray()).ToArray();
        return new Expected(Rows("inputs", e => e.GetInt32()), Rows("scores_float64", e => e.GetDouble()), Rows("raw_scores", e => e.GetInt32()),
            r.GetProperty("argmax_float64").EnumerateArray().Select(e => e.GetInt32()).ToArray());
    }

    static byte[] Nhwc(int[] nchw, Shape3 s)
    {
        var b = new byte[s.Elements];
        for (int c = 0; c < s.C; c++)
            for (int y = 0; y < s.H; y++)
                for (int x = 0; x < s.W; x++) b[(y * s.W + x) * s.C + c] = checked((byte)nchw[(c * s.H + y) * s.W + x]);
        return b;
    }

    /// <summary>Engine (two CPU configurations) vs ONNX Runtime on the file: same argmax, scores within float32 noise.</summary>
    static void MatchesOnnxRuntime(string file, BnnModel model, int[][] inputs)
    {
        var images = inputs.SelectMany(i => Nhwc(i, model.InputShape)).ToArray();
        int n = inputs.Length, k = model.NumClasses;
        var ort = OrtRunner.Run(File.ReadAllBytes(Path.Combine(Dir, file)), model.InputShape, images, n).Values.First();
        foreach (var config in new[] { "cpu.scalar", "cpu.mt-rows" })
        {
            using var session = new InferenceSession(model, config, new SessionOptions { MaxBatch = n });
            var scores = new double[n * k];
            session.Run(images, n, scores);
            for (int i = 0; i < n; i++)
            {
                Assert.Equal(InferenceSession.ArgMax(ort.AsSpan(i * k, k)), InferenceSession.ArgMax(scores.AsSpan(i * k, k)));
                for (int c = 0; c < k; c++)
                    Assert.True(Math.Abs(scores[i * k + c] - ort[i * k + c]) <= 1e-4 * Math.Max(1, Math.Abs(ort[i * k + c])),
                        $"{file} ({config}) image {i} class {c}: engine {scores[i * k + c]:R}, ONNX Runtime {ort[i * k + c]:R}");
            }
        }
    }

    [Theory]
    [InlineData("torch_sign")]       // activations torch.sign(x): ONNX Sign
    [InlineData("strided_1x1")]      // stride-2 3×3 convolutions (padded and not) and a 1×1 convolution
    [InlineData("prebinarized")]     // ±1 weight constants, no Sign node on them
    [InlineData("two_pools_positive")] // MaxPool before the BatchNorm and again after the sign, every BN scale > 0
    [InlineData("per_channel_std")]  // (x/255 − mean_c)/std_c with three different stds: per-channel sums, 64-bit epilogue
    public void ImportMatchesPyTorchAndOnnxRuntime(string name)
    {
        var model = OnnxImporter.ImportFile(Path.Combine(Dir, name + ".onnx"));
        var e = Load(name);
        using var session = new InferenceSession(model, "cpu.mt-rows", new SessionOptions { MaxBatch = 1 });
        for (int i = 0; i < e.Inputs.Length; i++)
        {
            var image = Nhwc(e.Inputs[i], model.InputShape);
            var raw = new int[model.NumClasses];
            session.Run(image, 1, raw);
            Assert.Equal(e.RawScores[i], raw);
            var scores = ReferenceEngine.Scores(model, image);
            for (int c = 0; c < scores.Length; c++)
                Assert.True(Math.Abs(scores[c] - e.ScoresFloat64[i][c]) <= 1e-9 * Math.Max(1, Math.Abs(e.ScoresFloat64[i][c])),
                    $"{name} image {i} class {c}: {scores[c]:R} vs PyTorch float64 {e.ScoresFloat64[i][c]:R}");
            Assert.Equal(e.Argmax[i], InferenceSession.ArgMax(scores));
        }
        MatchesOnnxRuntime(name + ".onnx", model, e.Inputs);
    }

    /// <summary>The per-channel stds arrive as divisors 255·std_c (float32 constants), so the first block keeps
    /// per-input-channel sums; every CPU configuration agrees with PyTorch's float64 integer sums on the fixture's images.</summary>
    [Fact]
    public void PerChannelStdKeepsThreeDivisorsOnEveryCpuConfiguration()
    {
        var model = OnnxImporter.ImportFile(Path.Combine(Dir, "per_channel_std.onnx"));
        var norm = Assert.IsType<InputConv2d>(model.Layers[0]).Normalization!;
        Assert.True(norm.IsPerChannel);
        Assert.Equal(3, norm.ChannelDivisors!.Distinct().Count());
        Assert.True(HepBnn.Ops.BlockCompiler.Compile(model)[0].HasChannelSums);
        var e = Load("per_channel_std");
        var images = e.Inputs.SelectMany(i => Nhwc(i, model.InputShape)).ToArray();
        int n = e.Inputs.Length, k = model.NumClasses, ran = 0;
        foreach (var config in HepBnn.Ops.ConfigurationRegistry.Cpu)
        {
            if (!HepBnn.Ops.BlockCompiler.Compile(model).All(config.Supports) || HepBnn.Ops.ConfigurationAvailability.Reason(config) is not null) continue;
            using var session = new InferenceSession(model, config.Name, new SessionOptions { MaxBatch = n, CpuThreads = 2 });
            var raw = new int[n * k];
            session.Run(images, n, raw);
            for (int i = 0; i < n; i++) Assert.True(e.RawScores[i].SequenceEqual(raw.AsSpan(i * k, k).ToArray()), $"{config.Name}: image {i}");
            ran++;
        }
        Assert.True(ran >= 3, $"only {ran} CPU configurations ran");
    }

    [Fact]
    public void StridedAndPointwiseConvolutionsKeepTheirGeometry()
    {
        var model = OnnxImporter.ImportFile(Path.Combine(Dir, "strided_1x1.onnx"));
        var first = Assert.IsType<InputConv2d>(model.Layers[0]);
        Assert.Equal((3, 2, 1), (first.KernelH, first.Stride, first.Padding));
        var convs = model.Layers.OfType<BinaryConv2d>().ToArray();
        Assert.Equal((1, 1, 0), (convs[0].KernelH, convs[0].Stride, convs[0].Padding));
        Assert.Equal((3, 2, 0), (convs[1].KernelH, convs[1].Stride, convs[1].Padding));
    }

    [Fact]
    public void TwoPoolsInOneBlockBecomeOnePool()
    {
        var model = OnnxImporter.ImportFile(Path.Combine(Dir, "two_pools_positive.onnx"));
        Assert.Equal(["InputConv2d", "MaxPool2d", "BatchNormSign", "Flatten", "BinaryDense", "ScoreBatchNorm"], model.Layers.Select(l => l.Kind));
        Assert.Equal(new MaxPool2d(4, 4), model.Layers[1]);
    }

    /// <summary>torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x)): GreaterOrEqual/Where with Shape →
    /// ConstantOfShape (→ Neg) branches. PyTorch's random init drew one latent weight of exactly 0.0 in this export
    /// (c2.weight[969]; Sign(0) = 0, a ternary weight): the original file must be refused for it, and the copy with that
    /// one float set to 0.05 (where_ones_like_patched.onnx) is checked against ONNX Runtime.</summary>
    [Fact]
    public void WhereWithOnesLikeImports()
    {
        var e = Assert.Throws<HepBnnException>(() => OnnxImporter.ImportFile(Path.Combine(Dir, "where_ones_like.onnx")));
        Assert.Contains("Conv '/c2/Conv'", e.Message);
        Assert.Contains("weight 969 is 0", e.Message);
        var model = OnnxImporter.ImportFile(Path.Combine(Dir, "where_ones_like_patched.onnx"));
        Assert.Equal(["InputConv2d", "BatchNormSign", "MaxPool2d", "BinaryConv2d", "MaxPool2d", "BatchNormSign", "Flatten", "BinaryDense", "ScoreBatchNorm"],
            model.Layers.Select(l => l.Kind));
        MatchesOnnxRuntime("where_ones_like_patched.onnx", model, Load("where_ones_like").Inputs);
    }

    [Theory]
    [InlineData("two_pools", "MaxPool '/MaxPool_1'", "negative BatchNorm scale")]
    public void WhatCannotBeExactIsRefusedNamingTheNode(string name, string node, string reason)
    {
        var e = Assert.Throws<HepBnnException>(() => OnnxImporter.ImportFile(Path.Combine(Dir, name + ".onnx")));
        Assert.Contains(node, e.Message);
        Assert.Contains(reason, e.Message);
    }
}

/// <summary>Class names travel through ONNX as metadata (hepbnn.classes): export then import keeps them.</summary>
public class OnnxClassNamesTests
{
    [Fact]
    public void ExportThenImportKeepsClassNames()
    {
        string[] names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];
        var model = ModelZoo.Vgg3(seed: 5).WithClassNames(names);
        var bytes = HepBnn.Formats.Onnx.OnnxExporter.Export(model);
        var back = OnnxImporter.Import(bytes);
        Assert.Equal(names, back.ClassNames);
        Assert.Equal(ModelHash.Compute(model), ModelHash.Compute(back));
        Assert.Null(OnnxImporter.Import(HepBnn.Formats.Onnx.OnnxExporter.Export(ModelZoo.Vgg3(seed: 5))).ClassNames);
    }

    [Fact]
    public void WrongClassNameCountIsRefused()
    {
        var m = ModelZoo.Vgg3(seed: 5);
        var e = Assert.Throws<HepBnnException>(() => m.WithClassNames(["a", "b"]));
        Assert.Contains("10 classes but 2 class names", e.Message);
    }
}
