using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using HepBnn.Model;

namespace HepBnn.Formats.Native;

/// <summary>
/// Reads the .hbnn layout from bytes already in memory. Checks run in an order that never trusts a length before it is
/// compared with the bytes actually present: prefix, header length, checksum, header JSON, then each blob against the
/// body (contiguous, in layer order, so the unpacked weights stay within 8× the file size), then the model itself
/// (<see cref="ModelValidator"/>) and its content hash.
/// </summary>
internal static class HbnnReader
{
    const int MinFileBytes = HbnnLayout.PrefixBytes + HbnnLayout.ChecksumBytes;

    public static BnnModel Read(ReadOnlySpan<byte> file)
    {
        if (file.Length < HbnnLayout.Magic.Length && HbnnLayout.Magic.StartsWith(file))
            throw new HepBnnException($"file truncated: {file.Length} bytes");
        if (!ModelFile.HasMagic(file)) throw new HepBnnException("bad magic: not a .hbnn model file");
        if (file.Length < MinFileBytes) throw new HepBnnException($"file truncated: {file.Length} bytes, a .hbnn file has at least {MinFileBytes}");
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(file[8..]);
        if (version != HbnnLayout.Version)
            throw new HepBnnException($"unsupported .hbnn format version {version} (this build reads version {HbnnLayout.Version})");
        uint headerBytes = BinaryPrimitives.ReadUInt32LittleEndian(file[12..]);
        if (headerBytes > HbnnLayout.MaxHeaderBytes)
            throw new HepBnnException($"header length {headerBytes} exceeds the limit of {HbnnLayout.MaxHeaderBytes} bytes");
        long bodyBytes = (long)file.Length - HbnnLayout.PrefixBytes - headerBytes - HbnnLayout.ChecksumBytes;
        if (bodyBytes < 0)
            throw new HepBnnException($"header length {headerBytes} beyond end of file ({file.Length} bytes)");

        Span<byte> hash = stackalloc byte[HbnnLayout.ChecksumBytes];
        SHA256.HashData(file[..^HbnnLayout.ChecksumBytes], hash);
        if (!hash.SequenceEqual(file[^HbnnLayout.ChecksumBytes..]))
            throw new HepBnnException("checksum mismatch: the file is corrupted or truncated");

        var header = file.Slice(HbnnLayout.PrefixBytes, (int)headerBytes);
        var body = file.Slice(HbnnLayout.PrefixBytes + (int)headerBytes, (int)bodyBytes);
        using var doc = ParseJson(header);
        return Interpret(new JsonFields(doc.RootElement, "header"), body);
    }

    static JsonDocument ParseJson(ReadOnlySpan<byte> header)
    {
        // JsonDocument defers some UTF-8 checks to string access (InvalidOperationException): check all of it up front
        if (!System.Text.Unicode.Utf8.IsValid(header)) throw new HepBnnException("header JSON invalid: not valid UTF-8");
        try
        {
            return JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            throw new HepBnnException($"header JSON invalid: {e.Message}");
        }
    }

    static BnnModel Interpret(JsonFields h, ReadOnlySpan<byte> body)
    {
        if (h.String("format", 16) != "hbnn") throw new HepBnnException("header: 'format' must be \"hbnn\"");
        string name = h.String("name", HbnnLayout.MaxNameLength);
        string expectedHash = h.String("modelHash", 128);
        long declaredBody = h.Int("bodyBytes", 0, long.MaxValue);
        if (declaredBody != body.Length)
            throw new HepBnnException($"header says the body has {declaredBody} bytes, the file holds {body.Length}");
        var inp = h.Object("input");
        var input = new Shape3((int)inp.Int("h", 1, ModelValidator.MaxDim), (int)inp.Int("w", 1, ModelValidator.MaxDim), (int)inp.Int("c", 1, ModelValidator.MaxDim));
        ModelValidator.OutputShapes(input, []); // input shape limits, with the validator's message

        var layersJson = h.Array("layers", HbnnLayout.MaxLayers);
        var layers = new List<Layer>();
        var blobs = new BlobCursor(body);
        var shape = input;
        int i = 0;
        foreach (var e in layersJson.EnumerateArray())
        {
            var layer = ReadLayer(new JsonFields(e, $"layer {i}"), i, shape, ref blobs);
            shape = ShapeAfter(shape, layer, i);
            layers.Add(layer);
            i++;
        }
        blobs.CheckFullyUsed();
        var model = new BnnModel(name, input, layers, ClassNames(h));
        string actual = ModelHash.Compute(model);
        if (!string.Equals(actual, expectedHash, StringComparison.Ordinal))
            throw new HepBnnException($"model hash mismatch: header says {expectedHash}, the content gives {actual}");
        return model;
    }

    static Layer ReadLayer(JsonFields f, int index, Shape3 s, ref BlobCursor blobs)
    {
        string kind = f.String("kind", 32);
        string where = $"layer {index} ({kind})";
        switch (kind)
        {
            case "InputConv2d":
            case "BinaryConv2d":
            {
                int k = Dim(f, "outChannels"), kh = Small(f, "kernelH"), kw = Small(f, "kernelW"), stride = Small(f, "stride");
                int pad = (int)f.Int("padding", 0, 64);
                var weights = blobs.Weights(f, where, (long)k * kh * kw * s.C);
                if (kind == "BinaryConv2d") return new BinaryConv2d(k, kh, kw, stride, pad, weights);
                InputNormalization? norm = null;
                if (f.Has("normalization"))
                {
                    // C offsets and one divisor, or C offsets, a divisor and C per-channel divisors (HbnnWriter).
                    bool perChannel = f.Object("normalization").Int("bytes", 0, long.MaxValue) == (2L * s.C + 1) * 8;
                    var v = blobs.Doubles(f, "normalization", where, s.C, perChannel: perChannel ? 2 : 1, extra: 1);
                    norm = perChannel ? InputNormalization.Create(v[..s.C], v[(s.C + 1)..]) : new InputNormalization(v[..s.C], v[s.C]);
                }
                return new InputConv2d(k, kh, kw, stride, pad, weights, norm);
            }
            case "BinaryDense":
            {
                int k = Dim(f, "outFeatures");
                return new BinaryDense(k, blobs.Weights(f, where, k * s.Elements));
            }
            case "MaxPool2d":
                return new MaxPool2d(Dim(f, "size"), Dim(f, "stride"));
            case "BatchNormSign":
            case "ScoreBatchNorm":
            {
                var v = blobs.Doubles(f, "batchNorm", where, s.C, perChannel: 4, extra: 1);
                int c = s.C;
                var p = new BatchNormParams(v[..c], v[c..(2 * c)], v[(2 * c)..(3 * c)], v[(3 * c)..(4 * c)], v[4 * c]);
                return kind == "BatchNormSign" ? new BatchNormSign(p) : new ScoreBatchNorm(p);
            }
            case "Flatten":
                return new Flatten();
            default:
                throw new HepBnnException($"{where}: unknown layer kind");
        }
    }

    /// <summary>The optional "classes" array of strings (absent in older files; count checked by <see cref="BnnModel"/>).
    /// "classNames" is read too: early files of this branch used that key.</summary>
    static string[]? ClassNames(JsonFields h)
    {
        string? key = h.Has("classes") ? "classes" : h.Has("classNames") ? "classNames" : null;
        if (key is null) return null;
        if (h.Has("classes") && h.Has("classNames")) throw new HepBnnException("header: both 'classes' and 'classNames'; give one");
        var a = h.Array(key, ModelValidator.MaxDim);
        var names = new string[a.GetArrayLength()];
        int i = 0;
        foreach (var e in a.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.String) throw new HepBnnException($"header: '{key}' entry {i} must be a string");
            names[i++] = e.GetString()!;
        }
        return names;
    }

    static int Dim(JsonFields f, string name) => (int)f.Int(name, 1, ModelValidator.MaxDim);
    static int Small(JsonFields f, string name) => (int)f.Int(name, 1, 64);

    /// <summary>Output shape of one layer, with the validator's message renumbered to the layer's real index.</summary>
    static Shape3 ShapeAfter(Shape3 s, Layer layer, int index)
    {
        try { return ModelValidator.OutputShapes(s, [layer])[0]; }
        catch (HepBnnException e) when (e.Message.StartsWith("layer 0 (", StringComparison.Ordinal))
        {
            throw new HepBnnException($"layer {index} ({e.Message["layer 0 (".Length..]}");
        }
    }

    /// <summary>Hands out the body's blobs in order; each must start where the previous one ended and lie inside the body.</summary>
    ref struct BlobCursor(ReadOnlySpan<byte> body)
    {
        readonly ReadOnlySpan<byte> _body = body;
        long _next;

        ReadOnlySpan<byte> Take(JsonFields blob, string where, string name, long expectedBytes)
        {
            long offset = blob.Int("offset", 0, long.MaxValue), bytes = blob.Int("bytes", 0, long.MaxValue);
            if (offset > _body.Length || bytes > _body.Length - offset)
                throw new HepBnnException($"{where}: blob '{name}' [{offset}, +{bytes}) outside the body ({_body.Length} bytes)");
            if (offset != _next)
                throw new HepBnnException($"{where}: blob '{name}' at offset {offset} overlaps or skips data (expected {_next}; blobs are contiguous, in layer order)");
            if (bytes != expectedBytes)
                throw new HepBnnException($"{where}: blob '{name}' has {bytes} bytes, expected {expectedBytes}");
            _next = offset + bytes;
            return _body.Slice((int)offset, (int)bytes);
        }

        public sbyte[] Weights(JsonFields f, string where, long expectedCount)
        {
            var blob = f.Object("weights");
            long count = blob.Int("count", 0, long.MaxValue);
            if (count != expectedCount) throw new HepBnnException($"{where}: weight count mismatch: header says {count}, the layer's shape needs {expectedCount}");
            if (count > Array.MaxLength) throw new HepBnnException($"{where}: {count} weights in one layer are more than this runtime can hold");
            var bits = Take(blob, where, "weights", BitWeights.PackedBytes(count));
            if (!BitWeights.TryUnpack(bits, count, out var w)) throw new HepBnnException($"{where}: weights blob has non-zero padding bits");
            return w;
        }

        public double[] Doubles(JsonFields f, string name, string where, int channels, int perChannel, int extra)
        {
            var blob = f.Object(name);
            long count = blob.Int("count", 0, long.MaxValue);
            if (count != channels) throw new HepBnnException($"{where}: '{name}' has {count} channels, the input has {channels}");
            long n = (long)perChannel * channels + extra;
            var bytes = Take(blob, where, name, n * 8);
            var v = new double[n];
            for (int i = 0; i < v.Length; i++) v[i] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(i * 8)..]);
            return v;
        }

        public readonly void CheckFullyUsed()
        {
            if (_next != _body.Length) throw new HepBnnException($"body has {_body.Length - _next} bytes after the last blob");
        }
    }
}
