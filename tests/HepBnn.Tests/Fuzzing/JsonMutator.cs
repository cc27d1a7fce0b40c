using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace HepBnn.Tests.Fuzzing;

/// <summary>Structure-aware mutations of a JSON document: any value replaced by an extreme or wrongly typed one (huge,
/// negative, NaN/Infinity literals, strings, null, containers), properties removed or written twice, array elements
/// duplicated, removed or nulled, values wrapped in deep nesting. The document is written back with its own writer, so
/// a duplicated property really appears twice in the text.</summary>
internal static class JsonMutator
{
    static readonly string[] Extremes =
    [
        "0", "-1", "1", "0.5", "-0.0", "2147483647", "2147483648", "-2147483649", "9223372036854775808", "99999999999999999999999",
        "1e308", "1e309", "-1e309", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"\"", "\"x\"", "\"Cpu\"", "\"Gpu\"", "\"HostToDevice\"",
        "\"cpu.simd512\"", "\"gpu.none\"", "\"2026-13-45T99:00:00Z\"", "true", "false", "null", "[]", "{}", "[null]", "[{}]", "{\"a\":1}",
    ];
    static readonly int[] Depths = [2, 10, 63, 64, 65, 1000, 20000];

    public static (byte[] Input, string How) Mutate(byte[] seed, Random r)
    {
        var root = JsonNode.Parse(seed)!;
        var nodes = new List<(JsonNode? Parent, object Key, JsonNode? Node)>();
        Collect(null, "", root, nodes);
        var (parent, key, node) = nodes[r.Next(1, nodes.Count)];   // never the root itself
        string? duplicate = null, wrap = null;
        string how;
        switch (r.Next(7))
        {
            case 0 or 1:
            {
                string v = Extremes[r.Next(Extremes.Length)];
                Set(parent!, key, JsonNode.Parse(v));
                how = $"{Path(parent!, key)} = {v}";
                break;
            }
            case 2 when parent is JsonObject o:
                o.Remove((string)key);
                how = $"{key} removed";
                break;
            case 3 when parent is JsonObject:
                duplicate = (string)key;
                how = $"{key} written twice";
                break;
            case 4 when parent is JsonArray a:
            {
                int i = (int)key;
                switch (r.Next(4))
                {
                    case 0: a.Insert(r.Next(a.Count + 1), node?.DeepClone()); how = $"element {i} duplicated"; break;
                    case 1: a.RemoveAt(i); how = $"element {i} removed"; break;
                    case 2: a[i] = null; how = $"element {i} null"; break;
                    default: a.Clear(); how = "array emptied"; break;
                }
                break;
            }
            case 5:
            {
                int depth = Depths[r.Next(Depths.Length)];
                wrap = depth.ToString();
                how = $"{Path(parent!, key)} nested {depth} deep";
                break;
            }
            default:
            {
                // a long string or a string of another kind where a string is expected
                string v = r.Next(2) == 0 ? new string('a', r.Next(1, 200_000)) : "\u0000\uFFFD\\\"";
                Set(parent!, key, JsonValue.Create(v));
                how = $"{Path(parent!, key)} = string of {v.Length}";
                break;
            }
        }
        var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true }))
            Write(w, root, parent, key, duplicate, wrap is null ? 0 : int.Parse(wrap));
        return (stream.ToArray(), "json: " + how);
    }

    static void Collect(JsonNode? parent, object key, JsonNode? node, List<(JsonNode?, object, JsonNode?)> all)
    {
        all.Add((parent, key, node));
        if (node is JsonObject o) foreach (var kv in o.ToList()) Collect(o, kv.Key, kv.Value, all);
        else if (node is JsonArray a) for (int i = 0; i < a.Count; i++) Collect(a, i, a[i], all);
    }

    static void Set(JsonNode parent, object key, JsonNode? value)
    {
        if (parent is JsonObject o) o[(string)key] = value;
        else parent.AsArray()[(int)key] = value;
    }

    static string Path(JsonNode parent, object key) => key is string s ? s : $"{parent.GetPath()}[{key}]";

    /// <summary>Writes <paramref name="node"/>; the target (parent, key) is written twice or wrapped <paramref name="depth"/> arrays deep.</summary>
    static void Write(Utf8JsonWriter w, JsonNode? node, JsonNode? targetParent, object targetKey, string? duplicate, int depth)
    {
        void Value(JsonNode? child, bool isTarget)
        {
            if (isTarget && depth > 0)
            {
                var sb = new StringBuilder(depth * 2 + 16);
                sb.Append('[', depth).Append(child?.ToJsonString() ?? "null").Append(']', depth);
                w.WriteRawValue(sb.ToString(), skipInputValidation: true);
            }
            else Write(w, child, targetParent, targetKey, duplicate, depth);
        }
        switch (node)
        {
            case JsonObject o:
                w.WriteStartObject();
                foreach (var kv in o.ToList())
                {
                    bool target = ReferenceEquals(o, targetParent) && kv.Key == (targetKey as string);
                    int times = target && duplicate is not null ? 2 : 1;
                    for (int t = 0; t < times; t++)
                    {
                        w.WritePropertyName(kv.Key);
                        Value(kv.Value, target);
                    }
                }
                w.WriteEndObject();
                break;
            case JsonArray a:
                w.WriteStartArray();
                for (int i = 0; i < a.Count; i++) Value(a[i], ReferenceEquals(a, targetParent) && targetKey is int k && k == i);
                w.WriteEndArray();
                break;
            case null:
                w.WriteNullValue();
                break;
            default:
                node.WriteTo(w);
                break;
        }
    }
}
