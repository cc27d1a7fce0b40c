using System.Text.Json;
using System.Text.Json.Serialization;

namespace HepBnn.Planning;

/// <summary>The one JSON dialect of plan and profile files: camelCase, enums as names, required fields enforced on read,
/// so that a truncated or hand-broken file fails while parsing with a message naming the missing field.</summary>
public static class PlanningJson
{
    /// <summary>Largest plan or profile file read (bytes): a real one is a few hundred KiB at most.</summary>
    public const long MaxFileBytes = 64L << 20;
    /// <summary>Deepest JSON nesting accepted: the formats nest 4 levels.</summary>
    public const int MaxDepth = 16;

    public static JsonSerializerOptions Options { get; } = new()
    {
        MaxDepth = MaxDepth,
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Reads a file of type <typeparamref name="T"/>; every failure becomes one HepBnnException naming the file and <paramref name="what"/>.</summary>
    public static T Read<T>(string path, string what)
    {
        byte[] bytes;
        // bounded: the size is checked before anything is read (a 50 MB file used to cost 400 MB before its error)
        try { bytes = Formats.BoundedRead.File(path, MaxFileBytes); }
        catch (HepBnnException e) { throw new HepBnnException($"cannot read {what} '{path}': {e.Message}", e); }
        catch (Exception e) when (e is ArgumentException or NotSupportedException)
        {
            throw new HepBnnException($"cannot read {what} '{path}': {e.Message}", e);
        }
        return Parse<T>(bytes, $"{what} '{path}'");
    }

    public static T Parse<T>(string json, string source)
    {
        if (json.Length > MaxFileBytes) throw new HepBnnException($"{source} is {json.Length} characters, the limit is {MaxFileBytes}");
        return Parse<T>(System.Text.Encoding.UTF8.GetBytes(json), source);
    }

    /// <summary>Parses UTF-8 JSON (nesting at most <see cref="MaxDepth"/>).</summary>
    public static T Parse<T>(ReadOnlySpan<byte> utf8, string source)
    {
        try
        {
            if (utf8.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) utf8 = utf8[3..]; // a UTF-8 byte order mark, as editors write
            var value = JsonSerializer.Deserialize<T>(utf8, Options) ?? throw new HepBnnException($"{source} is empty (JSON null)");
            RejectNullElements(value, "$", source);
            return value;
        }
        catch (JsonException e)
        {
            throw new HepBnnException($"{source} is not valid: {e.Message}", e);
        }
    }

    /// <summary>Nullable annotations are respected for properties but not for list elements, so <c>"blocks": [null]</c>
    /// would deserialize; walks the records' positional (init) properties and refuses any null element of a list.</summary>
    static void RejectNullElements(object value, string path, string source)
    {
        var type = value.GetType();
        if (type.IsPrimitive || type.IsEnum || value is string or DateTime) return;
        if (value is System.Collections.IEnumerable list)
        {
            int i = 0;
            foreach (var item in list)
            {
                if (item is null) throw new HepBnnException($"{source} is not valid: element {path}[{i}] is null");
                RejectNullElements(item, $"{path}[{i}]", source);
                i++;
            }
            return;
        }
        foreach (var p in type.GetProperties())
            if (p.SetMethod is not null && p.GetIndexParameters().Length == 0 && p.GetValue(value) is { } child)
                RejectNullElements(child, $"{path}.{JsonNamingPolicy.CamelCase.ConvertName(p.Name)}", source);
    }

    public static void Write<T>(T value, string path, string what)
    {
        // no directory is created: a mistyped --out fails at once instead of scattering folders (even at /)
        Formats.AtomicFile.WriteText(path, JsonSerializer.Serialize(value, Options), what);
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
