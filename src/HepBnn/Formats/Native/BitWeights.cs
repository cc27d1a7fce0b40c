namespace HepBnn.Formats.Native;

/// <summary>±1 weights as bits: element i → byte i/8, bit i%8, 1 = +1; the unused high bits of the last byte are 0.</summary>
internal static class BitWeights
{
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
        for (long i = 0; i < count; i++)
            values[i] = (bits[(int)(i >> 3)] >> (int)(i & 7) & 1) != 0 ? (sbyte)1 : (sbyte)-1;
        int used = (int)(count & 7);
        return used == 0 || bits.Length == 0 || (bits[^1] >> used) == 0;
    }
}
