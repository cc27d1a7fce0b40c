namespace HepBnn.Ops.Cpu;

/// <summary>
/// A 32-bit filter in front of the exact 64-bit test of an image layer with per-channel divisors (DESIGN.md "First
/// layer"): the AVX-512 kernel widened every int16 channel sum S_c to int64 and multiplied it by q_c (VPMOVSXWQ +
/// VPMULLQ + VPADDQ, 8 channels per vector: ~3/4 of VGG7 conv1's vector instructions after the multiply-adds).
/// <para>Instead: q'_c = round(q_c / 2^s), small enough for int16 (≤ 32,767), so P' = Σ_c q'_c·S_c is one VPMADDWD per
/// pair of input channels on the interleaved int16 sums (16 output channels per vector, int32). With r_c = q_c − 2^s·q'_c,
/// P = 2^s·P' + Σ_c r_c·S_c and |Σ_c r_c·S_c| ≤ E = Σ_c |r_c|·255·taps, so P ∈ [2^s·P' − E, 2^s·P' + E]: the bit surely
/// fires when that whole interval lies in [WideLo, WideHi] (P' ∈ [InLo, InHi]) and surely does not when it misses it
/// (P' outside [MaybeLo, MaybeHi]). Only a word with a lane in between — P within E of a threshold, about 1/5 of a pixel
/// step for CIFAR-10's stds — is recomputed by the exact 64-bit path, so the result is the exact test's, bit for bit.</para>
/// <para>Lanes: VPUNPCKLWD / VPUNPCKHWD interleave two channels' sums within each 128-bit lane, so the int32 result of
/// the low unpack of a 32-channel group holds channels {0–3, 8–11, 16–19, 24–27} and the high one {4–7, …, 28–31};
/// the tables are stored in that order (<see cref="LaneChannel"/>) and the kernel deposits the mask bits back (PDEP).</para>
/// </summary>
public sealed class NarrowChannelSums
{
    /// <summary>(q'_{2i} low 16 bits, q'_{2i+1} high 16 bits) as the int32 broadcast VPMADDWD takes, per channel pair.</summary>
    public int[] PairMultipliers { get; }
    /// <summary>[class][PaddedK] in lane order: fires surely iff (uint)(P' − InLo) ≤ InSpan; may fire iff
    /// (uint)(P' − MaybeLo) ≤ MaybeSpan (an empty range is (int.MaxValue, 0): |P'| &lt; int.MaxValue).</summary>
    public int[] InLo { get; }
    public uint[] InSpan { get; }
    public int[] MaybeLo { get; }
    public uint[] MaybeSpan { get; }
    public int Shift { get; }
    /// <summary>The bound E on |P − 2^s·P'|.</summary>
    public long Slack { get; }

    /// <summary>The output channel (within its word) of lane j of the word's int32 vector v (0: channels 0–31 low
    /// unpack, 1: high unpack, 2 and 3: channels 32–63 likewise).</summary>
    public static int LaneChannel(int v, int j) => 32 * (v >> 1) + 8 * (j >> 2) + 4 * (v & 1) + (j & 3);

    NarrowChannelSums(int[] pairs, int shift, long slack, int[] inLo, uint[] inSpan, int[] maybeLo, uint[] maybeSpan)
    {
        PairMultipliers = pairs;
        Shift = shift;
        Slack = slack;
        InLo = inLo;
        InSpan = inSpan;
        MaybeLo = maybeLo;
        MaybeSpan = maybeSpan;
    }

    /// <summary>The filter for a block with multipliers <paramref name="q"/> (all &gt; 0), per-channel sums over
    /// <paramref name="taps"/> taps (|S_c| ≤ 255·taps ≤ 32,640: int16) and ranges [lo, hi] per [class][paddedK]; null
    /// when P' could leave int32 (a layer of more than 4 channels or huge kernels: the exact path runs alone).
    /// <paramref name="extraSlack"/> widens the uncertain band (tests: every word then takes the exact path).</summary>
    public static NarrowChannelSums? Create(long[] q, int taps, long[] lo, long[] hi, int paddedK, long extraSlack = 0)
    {
        if (q.Length == 0 || q.Length > 4 || q.Any(v => v <= 0) || (long)taps * 255 > 32_640 || lo.Length % paddedK != 0 || paddedK % 64 != 0) return null;
        long maxSum = 255L * taps;
        int shift = 0;
        while (Round(q.Max(), shift) > short.MaxValue) shift++;
        var qn = q.Select(v => Round(v, shift)).ToArray();
        // |P'| ≤ Σ q'_c·maxSum must stay below int.MaxValue (a pair's VPMADDWD and the pairs' sum in int32)
        if (qn.Sum() * maxSum >= int.MaxValue) return null;
        long slack = checked(q.Select((v, c) => Math.Abs(v - (qn[c] << shift)) * maxSum).Sum() + extraSlack);
        var pairs = new int[(q.Length + 1) / 2];
        for (int i = 0; i < pairs.Length; i++)
            pairs[i] = (int)((ushort)qn[2 * i] | (uint)(2 * i + 1 < q.Length ? qn[2 * i + 1] : 0) << 16);
        int n = lo.Length;
        var inLo = new int[n];
        var inSpan = new uint[n];
        var maybeLo = new int[n];
        var maybeSpan = new uint[n];
        for (int w0 = 0; w0 < n; w0 += 64)
            for (int v = 0; v < 4; v++)
                for (int j = 0; j < 16; j++)
                {
                    int at = w0 + 16 * v + j, ch = w0 + LaneChannel(v, j);
                    (inLo[at], inSpan[at]) = Range(Ceil((Int128)lo[ch] + slack, shift), Floor((Int128)hi[ch] - slack, shift));
                    (maybeLo[at], maybeSpan[at]) = Range(Ceil((Int128)lo[ch] - slack, shift), Floor((Int128)hi[ch] + slack, shift));
                }
        return new NarrowChannelSums(pairs, shift, slack, inLo, inSpan, maybeLo, maybeSpan);
    }

    static long Round(long v, int shift) => shift == 0 ? v : (v + (1L << (shift - 1))) >> shift;
    static Int128 Floor(Int128 v, int shift) => v >> shift;
    static Int128 Ceil(Int128 v, int shift) => -((-v) >> shift);

    /// <summary>[a, b] as (lo, span) for the unsigned test, clamped to int32 (|P'| &lt; int.MaxValue, so a bound beyond
    /// it decides the same); empty as (int.MaxValue, 0).</summary>
    static (int Lo, uint Span) Range(Int128 a, Int128 b)
    {
        long lo = (long)Int128.Clamp(a, int.MinValue, int.MaxValue), hi = (long)Int128.Clamp(b, int.MinValue, int.MaxValue);
        return lo > hi || lo == int.MaxValue ? (int.MaxValue, 0u) : ((int)lo, (uint)(hi - lo));
    }
}
