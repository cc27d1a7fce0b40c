using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text.Json;
using HepBnn.Model;

namespace HepBnn.Formats.Native;

/// <summary>Writes the .hbnn layout (<see cref="HbnnLayout"/>). Deterministic: one model always gives the same bytes.</summary>
internal static class HbnnWriter
{
    public static byte[] Write(BnnModel model)
    {
        if (model.Name.Length > HbnnLayout.MaxNameLength)
            throw new HepBnnException($"model name is {model.Name.Length} characters long, a .hbnn file allows {HbnnLayout.MaxNameLength}");
        var body = new MemoryStream();
        var header = new MemoryStream();
        using (var j = new Utf8JsonWriter(header))
        {
            j.WriteStartObject();
            j.WriteString("format", "hbnn");
            j.WriteString("name", model.Name);
            j.WriteString("modelHash", ModelHash.Compute(model));
            j.WriteStartObject("input");
            j.WriteNumber("h", model.InputShape.H); j.WriteNumber("w", model.InputShape.W); j.WriteNumber("c", model.InputShape.C);
            j.WriteEndObject();
            j.WriteStartArray("layers");
            foreach (var layer in model.Layers) WriteLayer(j, layer, body);
            j.WriteEndArray();
            if (model.ClassNames is { } names)
            {
                // optional (older readers ignore it): the class names, index = class
                j.WriteStartArray("classes");
                foreach (var n in names) j.WriteStringValue(n);
                j.WriteEndArray();
            }
            j.WriteNumber("bodyBytes", body.Length);
            j.WriteEndObject();
        }
        if (header.Length > HbnnLayout.MaxHeaderBytes)
            throw new HepBnnException($"model header would be {header.Length} bytes, a .hbnn file allows {HbnnLayout.MaxHeaderBytes}");

        var file = new byte[HbnnLayout.PrefixBytes + header.Length + body.Length + HbnnLayout.ChecksumBytes];
        HbnnLayout.Magic.CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(8), HbnnLayout.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(12), (uint)header.Length);
        header.GetBuffer().AsSpan(0, (int)header.Length).CopyTo(file.AsSpan(HbnnLayout.PrefixBytes));
        body.GetBuffer().AsSpan(0, (int)body.Length).CopyTo(file.AsSpan(HbnnLayout.PrefixBytes + (int)header.Length));
        Seal(file);
        return file;
    }

    /// <summary>Writes the trailing SHA-256 over everything before it.</summary>
    public static void Seal(Span<byte> file)
    {
        int n = file.Length - HbnnLayout.ChecksumBytes;
        SHA256.HashData(file[..n], file[n..]);
    }

    static void WriteLayer(Utf8JsonWriter j, Layer layer, MemoryStream body)
    {
        j.WriteStartObject();
        j.WriteString("kind", layer.Kind);
        switch (layer)
        {
            case InputConv2d c:
                Conv(j, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding);
                Blob(j, "weights", body, BitWeights.Pack(c.Weights), c.Weights.LongLength);
                // Per-channel divisors follow the one divisor: C offsets, the divisor, C divisors (2C + 1 values; readers
                // before them refuse the blob's size instead of misreading it). One divisor: C + 1 values, as always.
                if (c.Normalization is { } n) Blob(j, "normalization", body, Doubles([.. n.Offset, n.Divisor, .. n.ChannelDivisors ?? []]), n.Offset.Length);
                break;
            case BinaryConv2d c:
                Conv(j, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding);
                Blob(j, "weights", body, BitWeights.Pack(c.Weights), c.Weights.LongLength);
                break;
            case BinaryDense d:
                j.WriteNumber("outFeatures", d.OutFeatures);
                Blob(j, "weights", body, BitWeights.Pack(d.Weights), d.Weights.LongLength);
                break;
            case MaxPool2d p:
                j.WriteNumber("size", p.Size); j.WriteNumber("stride", p.Stride);
                break;
            case BatchNormSign b: BatchNorm(j, body, b.Params); break;
            case ScoreBatchNorm b: BatchNorm(j, body, b.Params); break;
            case Flatten: break;
            default: throw new HepBnnException($"layer kind {layer.Kind} cannot be written to a .hbnn file");
        }
        j.WriteEndObject();
    }

    static void Conv(Utf8JsonWriter j, int k, int kh, int kw, int stride, int pad)
    {
        j.WriteNumber("outChannels", k); j.WriteNumber("kernelH", kh); j.WriteNumber("kernelW", kw);
        j.WriteNumber("stride", stride); j.WriteNumber("padding", pad);
    }

    static void BatchNorm(Utf8JsonWriter j, MemoryStream body, BatchNormParams p) =>
        Blob(j, "batchNorm", body, Doubles([.. p.Gamma, .. p.Beta, .. p.Mean, .. p.Variance, p.Epsilon]), p.Channels);

    static void Blob(Utf8JsonWriter j, string name, MemoryStream body, byte[] data, long count)
    {
        j.WriteStartObject(name);
        j.WriteNumber("offset", body.Length); j.WriteNumber("bytes", data.Length); j.WriteNumber("count", count);
        j.WriteEndObject();
        body.Write(data);
    }

    static byte[] Doubles(double[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(i * 8), values[i]);
        return bytes;
    }
}
