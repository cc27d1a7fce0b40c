using Google.Protobuf;
using Onnx;

namespace HepBnn.Formats.Onnx.Export;

/// <summary>Small helper that appends initializers and nodes to a GraphProto with readable, unique names.</summary>
internal sealed class OnnxGraphBuilder
{
    public const int Float = 1, Double = 11, Int64 = 7;
    public GraphProto Graph { get; } = new();
    readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public string Unique(string name)
    {
        string n = name;
        for (int i = 2; !_names.Add(n); i++) n = $"{name}_{i}";
        return n;
    }

    public string Floats(string name, long[] dims, ReadOnlySpan<float> data) =>
        Init(name, dims, Float, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));

    public string Doubles(string name, long[] dims, ReadOnlySpan<double> data) =>
        Init(name, dims, Double, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));

    public string Int64s(string name, long[] dims, ReadOnlySpan<long> data) =>
        Init(name, dims, Int64, System.Runtime.InteropServices.MemoryMarshal.AsBytes(data));

    public string ScalarFloat(string name, float v) => Floats(name, [], [v]);
    public string ScalarDouble(string name, double v) => Doubles(name, [], [v]);

    string Init(string name, long[] dims, int type, ReadOnlySpan<byte> littleEndian)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian");
        var t = new TensorProto { Name = Unique(name), DataType = type, RawData = ByteString.CopyFrom(littleEndian) };
        t.Dims.AddRange(dims);
        Graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a node with one output named after the node; returns the output's name.</summary>
    public string Node(string op, string name, string[] inputs, params AttributeProto[] attributes)
    {
        var n = new NodeProto { OpType = op, Name = Unique(name) };
        n.Input.AddRange(inputs);
        n.Output.Add(n.Name);
        n.Attribute.AddRange(attributes.Select(a => a.Clone()));
        Graph.Node.Add(n);
        return n.Name;
    }

    /// <summary>Renames the output of the node that produces <paramref name="value"/> (used for named graph outputs).</summary>
    public string Rename(string value, string newName)
    {
        string name = Unique(newName);
        foreach (var n in Graph.Node)
        {
            for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == value) n.Output[i] = name;
            for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == value) n.Input[i] = name;
        }
        return name;
    }

    public static AttributeProto Ints(string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(v);
        return a;
    }

    public static AttributeProto Int(string name, long v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v };
    public static AttributeProto FloatAttr(string name, float v) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v };

    public static ValueInfoProto TensorInfo(string name, int elemType, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string p ? new TensorShapeProto.Types.Dimension { DimParam = p } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } } };
    }
}
