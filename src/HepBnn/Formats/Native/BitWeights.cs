using System.Runtime.InteropServices;

namespace HepBnn.Formats.Native;

/// <summary>±1 weights as bits: element i → byte i/8, bit i%8, 1 = +1; the unused high bits of the last byte are 0.</summary>
internal static class BitWeights
{
    /// <summary>The 8 ±1 values of each byte, as the 8 sbytes of a little-endian ulong.</summary>
    static readonly ulong[] ByteValues = Enumerable.Range(0, 256).Select(b =>
    {
        ulong v = 0;
        for (int j = 0; j < 8; j++) v |= (ulong)(byte)((b >> j & 1) != 0 ? 1 : -1) << (8 * j);
        return v;
    }).ToArray();

    public static long PackedBytes(long count) => (count + 7) / 8;

    public static byte[] Pack(sbyte[] values)
    {
        var bytes = new byte[PackedBytes(values.LongLength)];
        for (long i = 0; i < values.LongLength; i++)
            if (values[i] > 0) bytes[i >> 3] |= (byte)(1 << (int)(i & 7));
        return bytes;
    }

    /// <summary>Unpacks <paramref name="count"/> values; <paramref name="bits"/> must hold exactly <see cref="PackedBytes"/>
    /// bytes. Returns false when the padding bits of the last byte are not zero (a corrupted or foreign file).</summary>
    public static bool TryUnpack(ReadOnlySpan<byte> bits, long count, out sbyte[] values)
    {
        values = new sbyte[count];
        long whole = count >> 3;
        var eights = MemoryMarshal.Cast<sbyte, ulong>(values.AsSpan(0, (int)(whole * 8)));
        for (int i = 0; i < whole; i++) eights[i] = ByteValues[bits[i]]; // 8 values per table entry (VGG7: ~13 M weights)
        for (long i = whole * 8; i < count; i++)
            values[i] = (bits[(int)(i >> 3)] >> (int)(i & 7) & 1) != 0 ? (sbyte)1 : (sbyte)-1;
        int used = (int)(count & 7);
        return used == 0 || bits.Length == 0 || (bits[^1] >> used) == 0;
    }
}
