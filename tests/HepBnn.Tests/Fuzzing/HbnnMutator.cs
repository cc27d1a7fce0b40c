using System.Text.Json.Nodes;
using HepBnn.Tests.Formats.Native;

namespace HepBnn.Tests.Fuzzing;

/// <summary>Structured mutations of .hbnn files: edits the JSON header (numbers set extreme, properties removed, layers
/// duplicated, removed, swapped or re-kinded) and re-seals the checksum, so the reader's checks behind it are reached.</summary>
internal static class HbnnMutator
{
    static readonly JsonNode?[] Extremes = [0, -1, 1, 2, 3, 63, 64, 65, 16384, 16385, int.MaxValue, long.MaxValue, 1e300, 0.5, "x", null, new JsonArray(), new JsonObject()];
    static readonly string[] Kinds = ["InputConv2d", "BinaryConv2d", "BinaryDense", "MaxPool2d", "BatchNormSign", "ScoreBatchNorm", "Flatten", "Nope"];

    public static (byte[] Input, string How) Mutate(byte[] seed, Random r)
    {
        var h = HbnnSurgery.Header(seed);
        var layers = h["layers"]!.AsArray();
        string how;
        switch (r.Next(6))
        {
            case 0:
            {
                var (parent, key) = PickProperty(h, r);
                parent[key] = Extremes[r.Next(Extremes.Length)]?.DeepClone();
                how = $"{key} set";
                break;
            }
            case 1:
            {
                var (parent, key) = PickProperty(h, r);
                parent.Remove(key);
                how = $"{key} removed";
                break;
            }
            case 2:
            {
                int i = r.Next(layers.Count);
                layers.Insert(r.Next(layers.Count + 1), layers[i]!.DeepClone());
                how = $"layer {i} duplicated";
                break;
            }
            case 3:
            {
                int i = r.Next(layers.Count);
                layers.RemoveAt(i);
                how = $"layer {i} removed";
                break;
            }
            case 4:
            {
                int a = r.Next(layers.Count), b = r.Next(layers.Count);
                var la = layers[a]!.DeepClone();
                layers[a] = layers[b]!.DeepClone();
                layers[b] = la;
                how = $"layers {a} and {b} swapped";
                break;
            }
            default:
            {
                int i = r.Next(layers.Count);
                layers[i]!["kind"] = Kinds[r.Next(Kinds.Length)];
                how = $"layer {i} re-kinded";
                break;
            }
        }
        return (HbnnSurgery.Build(seed, h.ToJsonString(), HbnnSurgery.Body(seed)), "hbnn: " + how);
    }

    /// <summary>A random property anywhere in the header (objects only).</summary>
    static (JsonObject Parent, string Key) PickProperty(JsonObject root, Random r)
    {
        var all = new List<(JsonObject, string)>();
        void Walk(JsonNode? n)
        {
            if (n is JsonObject o) foreach (var kv in o.ToList()) { all.Add((o, kv.Key)); Walk(kv.Value); }
            else if (n is JsonArray a) foreach (var x in a) Walk(x);
        }
        Walk(root);
        return all[r.Next(all.Count)];
    }
}
