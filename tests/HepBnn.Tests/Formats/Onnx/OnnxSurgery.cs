using Google.Protobuf;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using Onnx;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>Builds variants of exported graphs: what other exporters write, and what broken or hostile files contain.</summary>
public static class OnnxSurgery
{
    internal static ModelProto Proto(BnnModel model, OnnxPrecision precision = OnnxPrecision.Exact, bool rawScores = false) =>
        OnnxExporter.ToProto(model, new OnnxExportOptions { Precision = precision, RawScoresOutput = rawScores });

    internal static byte[] Bytes(ModelProto m) => m.ToByteArray();

    internal static NodeProto Node(ModelProto m, string name) => m.Graph.Node.Single(n => n.Name == name);

    internal static TensorProto Init(ModelProto m, string name) => m.Graph.Initializer.Single(t => t.Name == name);

    internal static void SetFloats(TensorProto t, long[] dims, float[] values)
    {
        t.Dims.Clear();
        t.Dims.AddRange(dims);
        t.DataType = 1;
        t.RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
    }

    internal static float[] Floats(TensorProto t) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();

    internal static void SetAttr(NodeProto n, AttributeProto a)
    {
        var old = n.Attribute.FirstOrDefault(x => x.Name == a.Name);
        if (old is not null) n.Attribute.Remove(old);
        n.Attribute.Add(a);
    }

    internal static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    internal static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };

    /// <summary>Inserts <paramref name="node"/> before the node named <paramref name="before"/> (keeps topological order).</summary>
    internal static void InsertBefore(ModelProto m, string before, NodeProto node)
    {
        int i = m.Graph.Node.IndexOf(Node(m, before));
        m.Graph.Node.Insert(i, node);
    }

    internal static NodeProto NewNode(string op, string name, string[] inputs, string[] outputs, params AttributeProto[] attrs)
    {
        var n = new NodeProto { OpType = op, Name = name };
        n.Input.AddRange(inputs);
        n.Output.AddRange(outputs);
        n.Attribute.AddRange(attrs);
        return n;
    }

    /// <summary>Replaces every use of value <paramref name="from"/> as a node input by <paramref name="to"/>.</summary>
    internal static void Rewire(ModelProto m, string from, string to, NodeProto? except = null)
    {
        foreach (var n in m.Graph.Node)
            if (n != except)
                for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == from) n.Input[i] = to;
    }
}
