using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace HepBnn.Tests.Formats.Native;

/// <summary>Edits .hbnn files the way a buggy writer or an attacker would: rewrites the JSON header or the body and
/// re-seals the checksum, so the reader's checks behind the checksum are reached.</summary>
public static class HbnnSurgery
{
    const int Prefix = 16, Checksum = 32;

    public static int HeaderLength(byte[] file) => (int)BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(12));

    public static JsonObject Header(byte[] file) => JsonNode.Parse(file.AsSpan(Prefix, HeaderLength(file)))!.AsObject();

    public static byte[] Body(byte[] file) => file.AsSpan(Prefix + HeaderLength(file), file.Length - Prefix - HeaderLength(file) - Checksum).ToArray();

    public static byte[] Build(byte[] original, string headerJson, byte[] body) =>
        Build(original, Encoding.UTF8.GetBytes(headerJson), body);

    public static byte[] Build(byte[] original, byte[] header, byte[] body)
    {
        var file = new byte[Prefix + header.Length + body.Length + Checksum];
        original.AsSpan(0, 12).CopyTo(file);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(12), (uint)header.Length);
        header.CopyTo(file, Prefix);
        body.CopyTo(file, Prefix + header.Length);
        Reseal(file);
        return file;
    }

    public static byte[] EditHeader(byte[] file, Action<JsonObject> edit)
    {
        var h = Header(file);
        edit(h);
        return Build(file, h.ToJsonString(), Body(file));
    }

    public static byte[] EditBody(byte[] file, Func<byte[], byte[]> edit) => Build(file, file.AsSpan(Prefix, HeaderLength(file)).ToArray(), edit(Body(file)));

    /// <summary>Recomputes the trailing SHA-256 (no-op on files too short to have one).</summary>
    public static byte[] Reseal(byte[] file)
    {
        if (file.Length >= Checksum) SHA256.HashData(file.AsSpan(0, file.Length - Checksum), file.AsSpan(file.Length - Checksum));
        return file;
    }

    public static JsonObject Layer(JsonObject header, int i) => header["layers"]![i]!.AsObject();
}
