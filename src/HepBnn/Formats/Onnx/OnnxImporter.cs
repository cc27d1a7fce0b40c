using Google.Protobuf;
using HepBnn.Formats.Onnx.Import;
using HepBnn.Model;
using HepBnn.Ops;
using Onnx;

namespace HepBnn.Formats.Onnx;

/// <summary>
/// Imports a BNN from ONNX (docs/MODEL_FORMATS.md lists what is recognised). Conventions: one input, float NCHW images in
/// raw 0..255 pixel units (a leading Div by 255 and any per-channel Sub/Add with one common Div/Mul fold into the model's
/// <see cref="InputNormalization"/>); weights ±1 constants or binarized in the graph (Sign(W), Where(W ≥ 0, 1, −1));
/// activations binarized by Sign or Where(x ≥ 0, 1, −1) (sign(0) = +1 as in HepBnn; ONNX's Sign(0) = 0 differs only at
/// exactly 0); the first output holds the class scores. Every problem, from a truncated protobuf to an unsupported node,
/// is one <see cref="HepBnnException"/>; memory stays proportional to the file size.
/// </summary>
public static class OnnxImporter
{
    public const string Extension = ".onnx";
    /// <summary>Protobuf messages cannot exceed 2 GiB.</summary>
    public const long MaxFileBytes = int.MaxValue;

    /// <summary>Imports an .onnx file, or a gzip-compressed one (.onnx.gz: ±1 float weights compress ~20×, which is how
    /// the repository ships its trained models).</summary>
    public static BnnModel ImportFile(string path)
    {
        try
        {
            var bytes = BoundedRead.File(path, MaxFileBytes);
            string name = Path.GetFileName(path);
            if (name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase)) name = name[..^3];
            if (name.EndsWith(Extension, StringComparison.OrdinalIgnoreCase)) name = name[..^Extension.Length];
            return Import(Gunzip(bytes), name);
        }
        catch (HepBnnException e) { throw new HepBnnException($"ONNX file '{path}': {e.Message}", e); }
    }

    /// <summary>The bytes as they are, or decompressed when they start with the gzip magic (bounded by <see cref="MaxFileBytes"/>).</summary>
    static byte[] Gunzip(byte[] bytes)
    {
        if (bytes.Length < 2 || bytes[0] != 0x1F || bytes[1] != 0x8B) return bytes;
        try
        {
            using var gz = new System.IO.Compression.GZipStream(new MemoryStream(bytes), System.IO.Compression.CompressionMode.Decompress);
            return BoundedRead.All(gz, MaxFileBytes, "decompressed ONNX model");
        }
        catch (InvalidDataException e)
        {
            throw new HepBnnException($"not a valid gzip stream: {e.Message}", e);
        }
    }

    public static BnnModel Import(Stream stream, string? name = null) => Import(BoundedRead.All(stream, MaxFileBytes, "ONNX model"), name);

    /// <param name="name">the model's name unless the file is a HepBnn export (which carries the name); e.g. the file name</param>
    public static BnnModel Import(byte[] bytes, string? name = null)
    {
        var proto = Parse(bytes);
        CheckVersions(proto);
        if (proto.Graph is null) throw new HepBnnException("the model has no graph");
        ShapeConstantPattern.Rewrite(proto.Graph); // torch.ones_like branches of a Where → constants
        var graph = new OnnxGraph(proto.Graph);
        // folded constants may not exceed twice the file's bytes in elements (plus a little for tiny files)
        var folder = new ConstantFolder(graph, 2L * bytes.Length + (1 << 20));
        var chain = new ChainImporter(graph, folder);
        var layers = chain.Run();
        // HepBnn's own exports keep the model's name in the graph name; other producers name graphs generically ("main_graph")
        bool ours = proto.ProducerName == "HepBnn" && proto.Graph.Name.Length > 0;
        string modelName = ours ? OnnxGraph.Clip(proto.Graph.Name) : name ?? (proto.Graph.Name.Length > 0 ? OnnxGraph.Clip(proto.Graph.Name) : "onnx-model");
        var model = new BnnModel(modelName, chain.InputShape, layers, ClassNamesMetadata.Read(proto));
        BlockCompiler.Compile(model); // the engine must be able to run what was imported: fail here, not at run time
        return model;
    }

    internal static ModelProto Parse(byte[] bytes)
    {
        try
        {
            // a fresh parser with the default recursion limit (100): nested sub-graphs cannot overflow the stack
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new HepBnnException($"not a valid ONNX protobuf: {e.Message}");
        }
    }

    static void CheckVersions(ModelProto m)
    {
        if (m.IrVersion < 3) throw new HepBnnException($"ONNX IR version {m.IrVersion} is not supported (3 or newer)");
        var opset = m.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(-1).Max();
        if (opset < 7 || opset > MaxOpset) throw new HepBnnException($"ONNX opset {opset} is not supported (7..{MaxOpset})");
    }

    public const int MaxOpset = 24;
}
