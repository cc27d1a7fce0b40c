using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Runtime;
using Onnx;
using static HepBnn.Tests.Formats.Onnx.OnnxSurgery;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>Graph patterns other exporters write: each must import to the same model, or to one whose integer sums
/// ONNX Runtime confirms on the very same graph.</summary>
public class OnnxImportPatternTests
{
    static readonly BnnModel Model = Float32Params.Round(FormatTestModels.Tiny(3));
    static readonly string Hash = ModelHash.Compute(Model);

    static ModelProto FloatGraph() => Proto(Model, OnnxPrecision.Float32, rawScores: true);

    static void SameModel(ModelProto m) => Assert.Equal(Hash, ModelHash.Compute(OnnxImporter.Import(Bytes(m))));

    /// <summary>Imports the graph and checks the engine's raw sums and argmax against ONNX Runtime running the same graph.</summary>
    static BnnModel AgreesWithOnnxRuntime(ModelProto m, int batch = 6, int seed = 3)
    {
        var bytes = Bytes(m);
        var model = OnnxImporter.Import(bytes);
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var ort = OrtRunner.Run(bytes, model.InputShape, images, batch);
        using var session = new InferenceSession(model, "cpu.scalar", new SessionOptions { MaxBatch = batch });
        var raw = new int[batch * session.ScoresPerImage];
        session.Run(images, batch, raw);
        Assert.Equal(ort["raw_scores"], raw.Select(v => (double)v));
        return model;
    }

    /// <summary>Replaces the GreaterOrEqual+Where binarization of <paramref name="layer"/> by <paramref name="make"/>(bn output) → ±1 value name.</summary>
    static ModelProto Binarize(int layer, Func<ModelProto, string, string> make)
    {
        var m = FloatGraph();
        var ge = Node(m, $"layer{layer}.sign_ge");
        var where = Node(m, $"layer{layer}.sign");
        string bn = ge.Input[0], oldOut = where.Output[0];
        int at = m.Graph.Node.IndexOf(ge);
        m.Graph.Node.Remove(ge);
        m.Graph.Node.Remove(where);
        var extra = new ModelProto { Graph = new GraphProto() };
        string result = make(extra, bn);
        for (int i = 0; i < extra.Graph.Node.Count; i++) m.Graph.Node.Insert(at + i, extra.Graph.Node[i]);
        m.Graph.Initializer.AddRange(extra.Graph.Initializer);
        Rewire(m, oldOut, result);
        return m;
    }

    static string Scalar(ModelProto m, string name, float v)
    {
        var t = new TensorProto { Name = name };
        SetFloats(t, [], [v]);
        m.Graph.Initializer.Add(t);
        return name;
    }

    [Fact]
    public void SignActivation() => SameModel(Binarize(2, (m, bn) =>
    {
        m.Graph.Node.Add(NewNode("Sign", "s", [bn], ["s_out"]));
        return "s_out";
    }));

    [Fact]
    public void WhereLessSwapped() => SameModel(Binarize(2, (m, bn) =>
    {
        m.Graph.Node.Add(NewNode("Less", "lt", [bn, Scalar(m, "z", 0)], ["lt_out"]));
        m.Graph.Node.Add(NewNode("Where", "w", ["lt_out", Scalar(m, "m1", -1), Scalar(m, "p1", 1)], ["w_out"]));
        return "w_out";
    }));

    [Fact]
    public void NotLessThenWhere() => SameModel(Binarize(2, (m, bn) =>
    {
        m.Graph.Node.Add(NewNode("Less", "lt", [bn, Scalar(m, "z", 0)], ["lt_out"]));
        m.Graph.Node.Add(NewNode("Not", "not", ["lt_out"], ["not_out"]));
        m.Graph.Node.Add(NewNode("Where", "w", ["not_out", Scalar(m, "p1", 1), Scalar(m, "m1", -1)], ["w_out"]));
        return "w_out";
    }));

    [Fact]
    public void ZeroOnTheLeft() => SameModel(Binarize(2, (m, bn) =>
    {
        m.Graph.Node.Add(NewNode("LessOrEqual", "le", [Scalar(m, "z", 0), bn], ["le_out"]));
        m.Graph.Node.Add(NewNode("Where", "w", ["le_out", Scalar(m, "p1", 1), Scalar(m, "m1", -1)], ["w_out"]));
        return "w_out";
    }));

    [Fact]
    public void WeightsBinarizedInTheGraph()
    {
        var m = FloatGraph();
        // Sign(W·0.37) for one conv, Where(W ≥ 0, 1, −1) for the dense layer
        var w = Init(m, "layer3.weight");
        SetFloats(w, w.Dims.ToArray(), Floats(w).Select(v => v * 0.37f).ToArray());
        w.Name = "w3_float";
        InsertBefore(m, "layer3.conv", NewNode("Sign", "w3_sign", ["w3_float"], ["layer3.weight"]));
        var d = Init(m, "layer7.weight");
        d.Name = "w7_float";
        SetFloats(d, d.Dims.ToArray(), Floats(d).Select(v => v * 2.5f).ToArray());
        m.Graph.Initializer.Add(new TensorProto { Name = "zero7", DataType = 1, RawData = Google.Protobuf.ByteString.CopyFrom(new byte[4]) });
        InsertBefore(m, "layer7.gemm", NewNode("GreaterOrEqual", "w7_ge", ["w7_float", "zero7"], ["w7_ge"]));
        InsertBefore(m, "layer7.gemm", NewNode("Where", "w7_where", ["w7_ge", Scalar(m, "one7", 1), Scalar(m, "minus7", -1)], ["layer7.weight"]));
        SameModel(m);
    }

    [Fact]
    public void BiasFoldsIntoTheFollowingBatchNorm()
    {
        var m = FloatGraph();
        var gemm = Node(m, "layer7.gemm");
        var bias = new TensorProto { Name = "bias7" };
        SetFloats(bias, [5], [3, -2, 0.5f, 7, -11]);
        m.Graph.Initializer.Add(bias);
        gemm.Input.Add("bias7");
        var model = AgreesWithOnnxRuntime(m);
        var bn = ((BatchNormSign)model.Layers[8]).Params;
        var original = ((BatchNormSign)Model.Layers[8]).Params;
        Assert.Equal(original.Mean[0] - 3, bn.Mean[0]);
        Assert.Equal(original.Gamma, bn.Gamma);
    }

    [Fact]
    public void StrictComparisonOnIntegerSumsIsExact()
    {
        // Conv → Greater(x, 0) → Where: no BatchNorm; x > 0 on integers must become x ≥ 1, not x ≥ 0
        var m = FloatGraph();
        var bnNode = Node(m, "layer4.batchnorm");
        var ge = Node(m, "layer4.sign_ge");
        ge.OpType = "Greater";
        ge.Input[0] = bnNode.Input[0];
        m.Graph.Node.Remove(bnNode);
        var model = AgreesWithOnnxRuntime(m, batch: 8);
        var p = ((BatchNormSign)model.Layers[4]).Params;
        Assert.All(p.Beta, b => Assert.Equal(-1, b));
    }

    [Fact]
    public void MaxPoolBetweenBatchNormAndSignBecomesPoolingOfBits()
    {
        // Conv → BN (some γ < 0) → MaxPool → Where: max then sign = sign then max, whatever the sign of γ
        var m = FloatGraph();
        var pool = Node(m, "layer5.maxpool");
        var where = Node(m, "layer4.sign");
        var ge = Node(m, "layer4.sign_ge");
        string bnOut = ge.Input[0];
        Rewire(m, pool.Output[0], where.Output[0]);          // what read the pool now reads the sign
        pool.Input[0] = bnOut;
        ge.Input[0] = pool.Output[0];
        m.Graph.Node.Remove(pool);
        m.Graph.Node.Insert(m.Graph.Node.IndexOf(ge), pool);
        var model = AgreesWithOnnxRuntime(m, batch: 8);
        Assert.Equal(["BatchNormSign", "MaxPool2d"], model.Layers.Skip(4).Take(2).Select(l => l.Kind));
        Assert.Contains(((BatchNormSign)model.Layers[4]).Params.Gamma, g => g < 0);
    }
}
