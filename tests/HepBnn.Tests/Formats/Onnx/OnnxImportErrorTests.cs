using Google.Protobuf;
using HepBnn.Formats.Onnx;
using Onnx;
using static HepBnn.Tests.Formats.Onnx.OnnxSurgery;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>Unsupported and malformed ONNX: one HepBnnException naming the node, its op type and why.</summary>
public class OnnxImportErrorTests
{
    static readonly HepBnn.Model.BnnModel Tiny = FormatTestModels.Tiny(1);

    static void Rejects(ModelProto m, string expected) => Rejects(Bytes(m), expected);

    static void Rejects(byte[] bytes, string expected)
    {
        var e = Assert.Throws<HepBnnException>(() => OnnxImporter.Import(bytes));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void GroupedConvolution()
    {
        var m = Proto(Tiny);
        SetAttr(Node(m, "layer3.conv"), Int("group", 2));
        Rejects(m, "Conv 'layer3.conv': group=2 not supported");
    }

    [Fact]
    public void AsymmetricPadsAndStrides()
    {
        var m = Proto(Tiny);
        SetAttr(Node(m, "layer3.conv"), Ints("pads", 1, 1, 0, 0));
        Rejects(m, "Conv 'layer3.conv': pads [1,1,0,0] not supported");
        m = Proto(Tiny);
        SetAttr(Node(m, "layer3.conv"), Ints("strides", 1, 2));
        Rejects(m, "Conv 'layer3.conv': strides [1,2] not supported");
        m = Proto(Tiny);
        SetAttr(Node(m, "layer3.conv"), Ints("dilations", 2, 2));
        Rejects(m, "Conv 'layer3.conv': dilations [2,2] not supported");
    }

    /// <summary>A per-channel divisor imports (per-channel sums, DESIGN.md "First layer"); a zero one is refused.</summary>
    [Fact]
    public void PerChannelDivisor()
    {
        var m = Proto(Tiny, OnnxPrecision.Float32);
        SetFloats(Init(m, "layer0.norm_divisor"), [1, 2, 1, 1], [50f, 60f]);
        var model = OnnxImporter.Import(Bytes(m));
        Assert.Equal([50.0, 60.0], ((HepBnn.Model.InputConv2d)model.Layers[0]).Normalization!.ChannelDivisors!);
        SetFloats(Init(m, "layer0.norm_divisor"), [1, 2, 1, 1], [50f, 0f]);
        Rejects(m, "Div 'layer0.norm_div': scales the image by 0");
    }

    [Fact]
    public void NonBinaryWeights()
    {
        var m = Proto(Tiny);
        var w = Init(m, "layer3.weight");
        var v = Floats(w);
        v[5] = 0.5f;
        SetFloats(w, w.Dims.ToArray(), v);
        Rejects(m, "Conv 'layer3.conv': output channel 0 has weights 1 and 0.5");
        v[5] = 0;
        SetFloats(w, w.Dims.ToArray(), v);
        Rejects(m, "Conv 'layer3.conv': weight 5 is 0");
    }

    [Fact]
    public void UnsupportedOperator()
    {
        var m = Proto(Tiny);
        var pool = Node(m, "layer5.maxpool");
        pool.OpType = "AveragePool";
        Rejects(m, "AveragePool 'layer5.maxpool': not supported on ±1 activations");
        m = Proto(Tiny);
        Node(m, "layer3.conv").Domain = "com.microsoft";
        Rejects(m, "operators of domain 'com.microsoft' are not supported");
    }

    [Fact]
    public void BranchingGraph()
    {
        var m = Proto(Tiny);
        var sign = Node(m, "layer2.sign");
        m.Graph.Node.Add(NewNode("Identity", "tap", [sign.Output[0]], ["tap_out"]));
        m.Graph.Output.Add(new ValueInfoProto { Name = "tap_out" });
        Rejects(m, "feeds 2 nodes");
    }

    [Fact]
    public void Cycle()
    {
        var m = Proto(Tiny);
        var conv = Node(m, "layer3.conv");
        conv.Input[0] = m.Graph.Node[^1].Output[0];
        Rejects(m, "graph has a cycle");
    }

    [Fact]
    public void TruncatedAndGarbageProtobuf()
    {
        var bytes = Bytes(Proto(Tiny));
        Rejects(bytes.AsSpan(0, bytes.Length / 2).ToArray(), "not a valid ONNX protobuf");
        Rejects([0xff, 0xff, 0xff, 0xff, 0xff], "not a valid ONNX protobuf");
        Rejects([], "IR version 0 is not supported");
    }

    [Fact]
    public void WrongTypes()
    {
        var m = Proto(Tiny);
        m.Graph.Input[0].Type.TensorType.ElemType = 8;
        Rejects(m, "input 'image': element type string not supported");
        m = Proto(Tiny);
        Init(m, "layer3.weight").DataType = 8;
        Rejects(m, "tensors of string are not supported");
        m = Proto(Tiny);
        var conv = Node(m, "layer3.conv");
        conv.Attribute.Single(a => a.Name == "group").Type = AttributeProto.Types.AttributeType.Float;
        Rejects(m, "attribute 'group' must be Int");
    }

    [Fact]
    public void HugeDimensions()
    {
        var m = Proto(Tiny);
        var w = Init(m, "layer3.weight");
        w.Dims.Clear();
        w.Dims.AddRange([1L << 40, 1L << 40]);
        Rejects(m, "do not match the");
        m = Proto(Tiny);
        m.Graph.Input[0].Type.TensorType.Shape.Dim[2].DimValue = 1L << 40;
        Rejects(m, "dimension H must be a fixed size");
    }

    [Fact]
    public void ExternalData()
    {
        var m = Proto(Tiny);
        Init(m, "layer3.weight").DataLocation = TensorProto.Types.DataLocation.External;
        Rejects(m, "external data");
    }

    [Fact]
    public void GraphStructure()
    {
        var m = Proto(Tiny);
        m.Graph.Input.Add(new ValueInfoProto { Name = "second" });
        Rejects(m, "exactly one image input");
        m = Proto(Tiny);
        Node(m, "layer3.conv").Input[1] = "nowhere";
        Rejects(m, "input 'nowhere' is not produced");
        m = Proto(Tiny);
        Node(m, "layer3.conv").Output[0] = Node(m, "layer2.sign").Output[0];
        Rejects(m, "already defined");
        m = Proto(Tiny);
        m.OpsetImport[0].Version = 99;
        Rejects(m, "opset 99 is not supported");
        m = Proto(Tiny);
        m.Graph.Input[0].Type.TensorType.Shape.Dim[2].ClearValue();
        Rejects(m, "dimension H must be a fixed size");
    }

    [Fact]
    public void BinarizedOutput()
    {
        var m = Proto(Tiny);
        m.Graph.Output[0].Name = Node(m, "layer2.sign").Output[0];
        Rejects(m, "is binarized");
    }

    [Fact]
    public void DenseBeforeFlatten()
    {
        var m = Proto(Tiny);
        var flatten = Node(m, "layer6.flatten");
        Rewire(m, flatten.Output[0], flatten.Input[0]);
        m.Graph.Node.Remove(flatten);
        Rejects(m, "Gemm 'layer7.gemm': the input must be flattened first");
    }

    [Fact]
    public void TrainingModeBatchNorm()
    {
        var m = Proto(Tiny, OnnxPrecision.Float32);
        SetAttr(Node(m, "layer2.batchnorm"), Int("training_mode", 1));
        Rejects(m, "training_mode=1 not supported");
    }

    [Fact]
    public void NotBinarizedBeforeTheNextLayer()
    {
        var m = Proto(Tiny, OnnxPrecision.Float32);
        var where = Node(m, "layer2.sign");
        Rewire(m, where.Output[0], Node(m, "layer2.batchnorm").Output[0]);
        m.Graph.Node.Remove(where);
        m.Graph.Node.Remove(Node(m, "layer2.sign_ge"));
        Rejects(m, "its input is not binarized");
    }

    [Fact]
    public void NonFiniteBatchNormParameters()
    {
        // found by the fuzzer: NaN parameters once reached Math.Sign (ArithmeticException)
        var m = Proto(Tiny, OnnxPrecision.Float32);
        var v = Init(m, "layer4.bn_var");
        var vals = Floats(v);
        vals[1] = float.NaN;
        SetFloats(v, v.Dims.ToArray(), vals);
        Rejects(m, "BatchNormalization 'layer4.batchnorm': channel 1 has a non-finite parameter");
        m = Proto(Tiny, OnnxPrecision.Float32);
        SetAttr(Node(m, "layer4.batchnorm"), new AttributeProto { Name = "epsilon", Type = AttributeProto.Types.AttributeType.Float, F = float.NaN });
        Rejects(m, "epsilon NaN must be finite");
        m = Proto(Tiny);
        var g = Init(m, "layer4.bn_gamma");
        g.RawData = ByteString.CopyFrom(Enumerable.Repeat(BitConverter.GetBytes(double.NaN), 4).SelectMany(b => b).ToArray());
        Rejects(m, "non-finite");
    }
}
