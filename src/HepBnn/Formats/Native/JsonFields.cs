using System.Text.Json;

namespace HepBnn.Formats.Native;

/// <summary>Typed, range-checked access to one JSON object of the header; every problem names where it is.</summary>
internal readonly struct JsonFields
{
    readonly JsonElement _e;
    readonly string _where;

    public JsonFields(JsonElement e, string where)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new HepBnnException($"{where}: expected a JSON object, found {e.ValueKind}");
        _e = e;
        _where = where;
    }

    public string Where => _where;

    public bool Has(string name) => _e.TryGetProperty(name, out _);

    public JsonElement Get(string name) =>
        _e.TryGetProperty(name, out var v) ? v : throw new HepBnnException($"{_where}: missing '{name}'");

    public JsonFields Object(string name) => new(Get(name), $"{_where}.{name}");

    public long Int(string name, long min, long max)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x))
            throw new HepBnnException($"{_where}: '{name}' must be an integer");
        if (x < min || x > max) throw new HepBnnException($"{_where}: '{name}' = {x} out of range {min}..{max}");
        return x;
    }

    public string String(string name, int maxLength)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.String) throw new HepBnnException($"{_where}: '{name}' must be a string");
        string s = v.GetString()!;
        if (s.Length > maxLength) throw new HepBnnException($"{_where}: '{name}' is longer than {maxLength} characters");
        return s;
    }

    public JsonElement Array(string name, int maxLength)
    {
        var v = Get(name);
        if (v.ValueKind != JsonValueKind.Array) throw new HepBnnException($"{_where}: '{name}' must be an array");
        if (v.GetArrayLength() > maxLength) throw new HepBnnException($"{_where}: '{name}' has more than {maxLength} entries");
        return v;
    }
}
