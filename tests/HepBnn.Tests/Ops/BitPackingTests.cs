using HepBnn.Formats.Native;
using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Tests.Ops;

/// <summary>The vectorised weight packing (64 channels per word from sign bits), the table unpacking of .hbnn weight
/// bits and the vectorised ±1 check, each against a plain per-value loop on random lengths: multiples of 64, tails, and
/// lengths below one vector.</summary>
public class BitPackingTests
{
    static sbyte[] RandomSigns(Random r, int n)
    {
        var v = new sbyte[n];
        for (int i = 0; i < n; i++) v[i] = r.Next(2) == 0 ? (sbyte)-1 : (sbyte)1;
        return v;
    }

    [Fact]
    public void PackRowsMatchesBitLoop()
    {
        foreach (int channels in new[] { 1, 3, 31, 32, 63, 64, 65, 100, 128, 129, 200, 256, 513 })
            for (int seed = 0; seed < 3; seed++)
            {
                var r = new Random(seed * 1000 + channels);
                int rows = r.Next(1, 6);
                var v = RandomSigns(r, rows * channels);
                v[r.Next(v.Length)] = 0; // 0 counts as +1 (sign(0) = +1)
                int cw = BitPacking.Words(channels);
                var expected = new ulong[rows * cw];
                for (int i = 0; i < rows; i++)
                    for (int c = 0; c < channels; c++)
                        if (v[i * channels + c] >= 0) expected[i * cw + (c >> 6)] |= 1UL << (c & 63);
                Assert.True(expected.AsSpan().SequenceEqual(BitPacking.PackRows(v, channels)), $"channels {channels}, seed {seed}");
                var back = BitPacking.UnpackRows(expected, rows, channels);
                for (int i = 0; i < v.Length; i++) Assert.Equal(v[i] >= 0 ? 1 : -1, back[i]);
            }
    }

    [Fact]
    public void WeightBitsRoundTripAndRejectPaddingBits()
    {
        var r = new Random(7);
        foreach (int n in new[] { 1, 7, 8, 9, 63, 64, 1000, 4099 })
        {
            var v = RandomSigns(r, n);
            var bits = BitWeights.Pack(v);
            Assert.True(BitWeights.TryUnpack(bits, n, out var back), $"n {n}");
            Assert.Equal(v, back);
            if (n % 8 != 0)
            {
                bits[^1] |= 0x80; // a padding bit set: a foreign or corrupted file
                Assert.False(BitWeights.TryUnpack(bits, n, out _), $"n {n}");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    [InlineData(64)]
    [InlineData(4095)]
    public void NonBinaryWeightIsNamedByIndex(int at)
    {
        var w = RandomSigns(new Random(at), 64 * 64);
        w[at] = 0;
        var e = Assert.Throws<HepBnnException>(() => new BnnModel("m", new Shape3(1, 1, 64), [new BinaryDense(64, w)]));
        Assert.Contains($"weight {at} is 0", e.Message);
    }
}
