using System.Text.Json;
using System.Text.Json.Serialization;

namespace HepBnn.Cli.Output;

/// <summary>One JSON document per command on stdout when --json is given.</summary>
public static class JsonOut
{
    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
        // "×", "→", "µ" as themselves, not \u escapes (the output is for people and tools alike; still valid JSON)
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Options));

    /// <summary>Also writes the document to <paramref name="path"/> (when given), so one run yields both text and JSON.</summary>
    public static void WriteFile<T>(T value, string? path)
    {
        if (string.IsNullOrEmpty(path)) return;
        HepBnn.Formats.AtomicFile.WriteText(path, JsonSerializer.Serialize(value, Options) + Environment.NewLine, "JSON output");
    }
}
