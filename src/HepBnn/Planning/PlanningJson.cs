using System.Text.Json;
using System.Text.Json.Serialization;

namespace HepBnn.Planning;

/// <summary>The one JSON dialect of plan and profile files: camelCase, enums as names, required fields enforced on read,
/// so that a truncated or hand-broken file fails while parsing with a message naming the missing field.</summary>
public static class PlanningJson
{
    public static JsonSerializerOptions Options { get; } = new()
    {
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
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new HepBnnException($"cannot read {what} '{path}': {e.Message}", e);
        }
        return Parse<T>(text, $"{what} '{path}'");
    }

    public static T Parse<T>(string json, string source)
    {
        try
        {
            var value = JsonSerializer.Deserialize<T>(json, Options) ?? throw new HepBnnException($"{source} is empty (JSON null)");
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
        try
        {
            var dir = Path.GetDirectoryName(Path.GetFullPath(path));
            if (dir is not null) Directory.CreateDirectory(dir);
            File.WriteAllText(path, JsonSerializer.Serialize(value, Options));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new HepBnnException($"cannot write {what} '{path}': {e.Message}", e);
        }
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);
}
