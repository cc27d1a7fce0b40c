using System.Text.Json;
using Onnx;

namespace HepBnn.Formats.Onnx;

/// <summary>Class names in an ONNX file's metadata_props: key <c>hepbnn.classes</c> (or <c>classes</c>, as a PyTorch user
/// may add with <c>onnx.helper.set_model_props</c>), value a JSON array of strings, index = class.</summary>
internal static class ClassNamesMetadata
{
    public const string Key = "hepbnn.classes";

    public static void Write(ModelProto m, IReadOnlyList<string>? names)
    {
        if (names is null) return;
        m.MetadataProps.Add(new StringStringEntryProto { Key = Key, Value = JsonSerializer.Serialize(names) });
    }

    /// <summary>The names, or null when the file has none. Their count and content are checked by <see cref="Model.BnnModel"/>.</summary>
    public static string[]? Read(ModelProto m)
    {
        var entry = m.MetadataProps.FirstOrDefault(p => p.Key == Key) ?? m.MetadataProps.FirstOrDefault(p => p.Key == "classes");
        if (entry is null) return null;
        if (entry.Value.Length > 1 << 20) throw new HepBnnException($"metadata '{entry.Key}': {entry.Value.Length} characters, more than the 1 MiB allowed");
        try
        {
            using var doc = JsonDocument.Parse(entry.Value, new JsonDocumentOptions { MaxDepth = 2 });
            if (doc.RootElement.ValueKind != JsonValueKind.Array) throw new HepBnnException($"metadata '{entry.Key}' must be a JSON array of class names");
            return doc.RootElement.EnumerateArray().Select((e, i) => e.ValueKind == JsonValueKind.String ? e.GetString()!
                : throw new HepBnnException($"metadata '{entry.Key}': entry {i} is not a string")).ToArray();
        }
        catch (JsonException e)
        {
            throw new HepBnnException($"metadata '{entry.Key}' is not valid JSON: {e.Message}");
        }
    }
}
