using Google.Protobuf;
using Onnx;

namespace HepBnn.Tests.Fuzzing;

/// <summary>Structured mutations of ONNX models: edits the parsed ModelProto (attributes, dims, data types, wiring, op types,
/// node order, values) and serializes it again, so that the importer's own checks are reached, not only protobuf's.</summary>
internal static class OnnxMutator
{
    static readonly long[] ExtremeInts = [0, -1, 1, 2, 3, 7, 64, 65, 1 << 14, 1 << 20, int.MaxValue, long.MaxValue, long.MinValue];
    static readonly float[] ExtremeFloats = [0, -1, 0.5f, 1e30f, float.NaN, float.PositiveInfinity, float.Epsilon, -0f];
    static readonly string[] Ops =
    [
        "Conv", "Gemm", "MatMul", "MaxPool", "BatchNormalization", "Sign", "Where", "Flatten", "Reshape", "Relu", "Add", "Sub", "Mul",
        "Div", "Cast", "Identity", "Transpose", "Squeeze", "Unsqueeze", "GreaterOrEqual", "Greater", "Less", "Not", "Constant", "ReduceSum", "Sqrt",
    ];

    public static (byte[] Input, string How) Mutate(byte[] seed, Random r)
    {
        var m = ModelProto.Parser.ParseFrom(seed);
        var g = m.Graph;
        var nodes = g.Node;
        var inits = g.Initializer;
        string how;
        var values = nodes.SelectMany(n => n.Output).Concat(inits.Select(t => t.Name)).Append(g.Input[0].Name).ToList();
        T Pick<T>(IList<T> list) => list[r.Next(list.Count)];
        switch (r.Next(11))
        {
            case 0 when nodes.Any(n => n.Attribute.Count > 0):
            {
                var n = Pick(nodes.Where(x => x.Attribute.Count > 0).ToList());
                var a = Pick(n.Attribute);
                switch (a.Type)
                {
                    case AttributeProto.Types.AttributeType.Ints when a.Ints.Count > 0: a.Ints[r.Next(a.Ints.Count)] = Pick(ExtremeInts); break;
                    case AttributeProto.Types.AttributeType.Ints: a.Ints.Add(Pick(ExtremeInts)); break;
                    case AttributeProto.Types.AttributeType.Int: a.I = Pick(ExtremeInts); break;
                    case AttributeProto.Types.AttributeType.Float: a.F = Pick(ExtremeFloats); break;
                    default: a.Type = (AttributeProto.Types.AttributeType)r.Next(15); break;
                }
                how = $"attribute {a.Name} of {n.Name}";
                break;
            }
            case 1 when inits.Count > 0:
            {
                var t = Pick(inits);
                if (t.Dims.Count > 0 && r.Next(3) > 0) t.Dims[r.Next(t.Dims.Count)] = Pick(ExtremeInts);
                else if (r.Next(2) == 0) t.Dims.Add(Pick(ExtremeInts));
                else t.Dims.Clear();
                how = $"dims of {t.Name}";
                break;
            }
            case 2 when inits.Count > 0:
            {
                var t = Pick(inits);
                if (r.Next(2) == 0 && t.RawData.Length > 0) t.RawData = ByteString.CopyFrom(t.RawData.Span[..r.Next(t.RawData.Length)]);
                else t.DataType = r.Next(18);
                how = $"data of {t.Name}";
                break;
            }
            case 3 when nodes.Count > 0:
            {
                var n = Pick(nodes);
                if (n.Input.Count > 0) n.Input[r.Next(n.Input.Count)] = Pick(values);
                else n.Input.Add(Pick(values));
                how = $"rewired {n.Name}";
                break;
            }
            case 4 when nodes.Count > 0:
            {
                int i = r.Next(nodes.Count);
                if (r.Next(2) == 0) nodes.Insert(r.Next(nodes.Count + 1), nodes[i].Clone());
                else nodes.RemoveAt(i);
                how = $"duplicated or removed node {i}";
                break;
            }
            case 5 when nodes.Count > 0:
            {
                var n = Pick(nodes);
                n.OpType = Pick(Ops);
                how = $"{n.Name} became {n.OpType}";
                break;
            }
            case 6:
            {
                var tt = g.Input[0].Type?.TensorType;
                if (tt?.Shape is { Dim.Count: > 0 } shape && r.Next(3) > 0)
                {
                    var d = shape.Dim[r.Next(shape.Dim.Count)];
                    if (r.Next(3) == 0) d.DimParam = "x"; else d.DimValue = Pick(ExtremeInts);
                }
                else if (tt is not null) tt.ElemType = r.Next(18);
                how = "input type";
                break;
            }
            case 7 when nodes.Count > 1:
            {
                int a = r.Next(nodes.Count), b = r.Next(nodes.Count);
                (nodes[a], nodes[b]) = (nodes[b].Clone(), nodes[a].Clone());
                how = $"swapped nodes {a} and {b}";
                break;
            }
            case 8 when inits.Any(t => t.DataType == 1 && t.RawData.Length >= 4):
            {
                var t = Pick(inits.Where(x => x.DataType == 1 && x.RawData.Length >= 4).ToList());
                var bytes = t.RawData.ToByteArray();
                BitConverter.TryWriteBytes(bytes.AsSpan(4 * r.Next(bytes.Length / 4)), Pick(ExtremeFloats));
                t.RawData = ByteString.CopyFrom(bytes);
                how = $"value in {t.Name}";
                break;
            }
            case 9:
            {
                g.Output[0].Name = Pick(values);
                how = "graph output moved";
                break;
            }
            default:
            {
                m.OpsetImport[0].Version = Pick(ExtremeInts);
                how = "opset";
                break;
            }
        }
        return (m.ToByteArray(), "onnx: " + how);
    }
}
