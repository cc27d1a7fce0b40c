using HepBnn.Formats.Native;
using HepBnn.Formats.Onnx;
using HepBnn.Model;

namespace HepBnn.Formats;

/// <summary>Loads a model file by its extension (.hbnn, .onnx); other names are recognised by the .hbnn magic, and a
/// stream by its content.</summary>
public static class ModelLoader
{
    public static BnnModel Load(string path)
    {
        if (!File.Exists(path)) throw new HepBnnException($"model '{path}' is neither a built-in architecture ({string.Join(", ", ModelZoo.Names)}) nor an existing file");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext == ModelFile.Extension) return ModelFile.Load(path);
        if (ext == OnnxImporter.Extension || path.EndsWith(OnnxImporter.Extension + ".gz", StringComparison.OrdinalIgnoreCase))
            return OnnxImporter.ImportFile(path);
        var head = new byte[8];
        int n;
        try { using var f = File.OpenRead(path); n = f.ReadAtLeast(head, head.Length, throwOnEndOfStream: false); }
        catch (IOException e) { throw new HepBnnException($"model file '{path}': {e.Message}", e); }
        if (ModelFile.HasMagic(head.AsSpan(0, n))) return ModelFile.Load(path);
        throw new HepBnnException($"model file '{path}': unknown format (expected a .hbnn or an .onnx file)");
    }

    /// <summary>Reads a whole model from <paramref name="stream"/>: .hbnn when it starts with the .hbnn magic, ONNX otherwise.</summary>
    public static BnnModel Load(Stream stream, string? name = null)
    {
        var bytes = BoundedRead.All(stream, Math.Max(HbnnLayout.MaxFileBytes, OnnxImporter.MaxFileBytes), "model");
        return ModelFile.HasMagic(bytes) ? ModelFile.FromBytes(bytes) : OnnxImporter.Import(bytes, name);
    }
}
