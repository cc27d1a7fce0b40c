using System.Runtime.Intrinsics;

namespace HepBnn.Ops;

/// <summary>Packs ±1 values along C into 64-bit words: bit j of word w = channel 64w + j, 1 = +1, tail bits 0.</summary>
public static class BitPacking
{
    public static int Words(int channels) => (channels + 63) >> 6;

    /// <summary>Packs rows of <paramref name="channels"/> ±1 values (any value ≥ 0 counts as +1).</summary>
    public static ulong[] PackRows(ReadOnlySpan<sbyte> values, int channels)
    {
        int rows = values.Length / channels, cw = Words(channels);
        var packed = new ulong[(long)rows * cw];
        PackRows(values, channels, packed);
        return packed;
    }

    public static void PackRows(ReadOnlySpan<sbyte> values, int channels, Span<ulong> packed)
    {
        int rows = values.Length / channels, cw = Words(channels);
        packed[..(rows * cw)].Clear();
        for (int r = 0; r < rows; r++)
        {
            var row = values.Slice(r * channels, channels);
            int c = 0;
            // 64 channels per word from the sign bits of two 32-byte vectors (models load ~13 M weights: no bit loop)
            for (; c + 64 <= channels; c += 64)
            {
                ulong neg = Vector256.Create(row.Slice(c, 32)).ExtractMostSignificantBits()
                            | (ulong)Vector256.Create(row.Slice(c + 32, 32)).ExtractMostSignificantBits() << 32;
                packed[r * cw + (c >> 6)] = ~neg;
            }
            for (; c < channels; c++)
                if (row[c] >= 0) packed[r * cw + (c >> 6)] |= 1UL << (c & 63);
        }
    }

    /// <summary>Inverse of <see cref="PackRows(ReadOnlySpan{sbyte}, int)"/>: ±1 per channel.</summary>
    public static sbyte[] UnpackRows(ReadOnlySpan<ulong> packed, int rows, int channels)
    {
        int cw = Words(channels);
        var values = new sbyte[rows * channels];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < channels; c++)
                values[r * channels + c] = (packed[r * cw + (c >> 6)] >> (c & 63) & 1) != 0 ? (sbyte)1 : (sbyte)-1;
        return values;
    }
}
