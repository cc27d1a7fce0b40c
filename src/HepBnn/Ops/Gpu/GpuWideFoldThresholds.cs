using HepBnn.Devices;
using HepBnn.Ops.Cpu;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Set-up of the folded threshold test of <see cref="GpuTensorCoreWide2MFold"/>: every output bit becomes one signed
/// compare of an MMA accumulator with half the row's popcount, D ≤ h, where the accumulator starts at a per (border class,
/// row parity, channel) constant instead of 0 (the MMA's C input is free) and pop = popc(a) = 2h + π.
/// <para>The reference's test is P ∈ [Lo, Lo + Span] with P = popc(a ⊕ w) = pop + popc(w) − 2x, x = popc(a ∧ w)
/// (<see cref="CpuBlockData"/>). From the thresholds (CountRange) every (class, channel) range is one of: all P, none,
/// P ≥ L (Lo &gt; 0, reaching the largest P) or P ≤ U (Lo = 0). Then, exactly:</para>
/// <list type="bullet">
/// <item>P ≥ L ⇔ 2x ≤ 2h + π + popc(w) − L ⇔ x + c ≤ h with c = −⌊(π + popc(w) − L) / 2⌋.</item>
/// <item>P ≤ U: the channel's weights are complemented inside the patch, so the MMA counts x̄ = popc(a ∧ ¬w) = pop − x
/// (a is zero outside the patch's bits): P = 2x̄ − pop + popc(w) ≤ U ⇔ x̄ + c ≤ h with c = −⌊(U + π − popc(w)) / 2⌋.</item>
/// <item>all: c = −<see cref="Far"/>; none: c = +<see cref="Far"/> (|x|, h ≤ 64·80 words of patch).</item>
/// </list>
/// The direction of a channel (complemented or not) is the same in every class; a channel that needs both, or a range
/// bounded on both sides (neither comes from a BatchNorm threshold), is refused at set-up with a HepBnnException.
/// </summary>
public static class GpuWideFoldThresholds
{
    /// <summary>Start value of an always (−) or never (+) firing channel.</summary>
    public const int Far = 1 << 24;

    /// <summary>The start values, [class][parity π][PaddedK] (channels ≥ K never fire), and which channels' weights are
    /// complemented. <paramref name="popW"/>: popc of each channel's weights over the patch; <paramref name="maxP"/>: the
    /// largest P (64 · patch words).</summary>
    public static (int[] Start, bool[] Complement) Build(ulong[] lo, ulong[] span, int[] popW, int k, int paddedK, int classes,
        long maxP, string block)
    {
        var kind = new Range[classes * paddedK];
        var complement = new bool[paddedK];
        for (int ch = 0; ch < k; ch++)
        {
            bool upper = false, lower = false;
            for (int c = 0; c < classes; c++)
            {
                long l = (long)lo[c * paddedK + ch], h = l + (long)span[c * paddedK + ch];
                var r = Classify(l, h, maxP);
                if (r == Range.TwoSided)
                    throw new HepBnnException($"{block}: channel {ch}, class {c}: the output-bit range P ∈ [{l}, {h}] is bounded on both sides (P ≤ {maxP}); the folded threshold test of gpu.tensor-core-wide-2m-r128-fold cannot express it");
                upper |= r == Range.Upper;
                lower |= r == Range.Lower;
                kind[c * paddedK + ch] = r;
            }
            if (upper && lower)
                throw new HepBnnException($"{block}: channel {ch} fires below a count in one border class and above one in another; the folded threshold test of gpu.tensor-core-wide-2m-r128-fold needs one direction per channel");
            complement[ch] = upper;
        }
        var start = new int[classes * 2 * paddedK];
        for (int c = 0; c < classes; c++)
            for (int parity = 0; parity < 2; parity++)
                for (int ch = 0; ch < paddedK; ch++)
                {
                    int i = c * paddedK + ch;
                    long l = (long)lo[i], h = l + (long)span[i];
                    long v = ch >= k ? Far : kind[i] switch
                    {
                        Range.All => -Far,
                        Range.None => Far,
                        Range.Lower => -FloorDiv2(parity + popW[ch] - l),
                        _ => -FloorDiv2(h + parity - popW[ch]),
                    };
                    start[(c * 2 + parity) * paddedK + ch] = checked((int)v);
                }
        return (start, complement);
    }

    /// <summary>A bits block's constants for the fold kernels: the tensor-core tables, then at a 4-aligned offset
    /// (<see cref="GpuBlockParams.PairOffset"/>) the start values [class][parity][PaddedK], and the B fragments of the
    /// weights with the complemented channels inverted (two steps of zeros after them: the product's loads ahead).</summary>
    internal static GpuBlockData Data(GpuDevice gpu, Block block, GpuBlockParams p)
    {
        var tables = new CpuBlockData(block, 0, 0);
        p = GpuTensorCore.WithOffsets(p, tables);
        var meta = GpuTensorCore.Meta(block, p, tables);
        int k = block.OutChannels, classes = tables.RowTaps.Length * tables.ColTaps.Length;
        var w = block.PackedWeights!;
        var popW = new int[k];
        for (int ch = 0; ch < k; ch++)
            for (int i = 0; i < p.KWords; i++) popW[ch] += System.Numerics.BitOperations.PopCount(w[(long)ch * p.KWords + i]);
        var (start, complement) = Build(tables.Lo, tables.Span, popW, k, p.PaddedK, classes, 64L * p.KWords, block.Name);
        p.PairOffset = (meta.Length + 3) & ~3;
        var all = new int[checked(p.PairOffset + start.Length)];
        meta.CopyTo(all, 0);
        start.CopyTo(all, p.PairOffset);
        var fragments = GpuTensorCore.Fragments(Weights(w, complement, k, p.KWords), k, p);
        Array.Resize(ref fragments, fragments.Length + 512);
        return new GpuBlockData(gpu, block, p, (fragments, all, GpuBlockData.PoolAndWords(block)));
    }

    /// <summary>The weights with each complemented channel's patch words inverted ([channel][words]).</summary>
    public static ulong[] Weights(ulong[] w, bool[] complement, int k, int words)
    {
        var copy = (ulong[])w.Clone();
        for (int ch = 0; ch < k; ch++)
            if (complement[ch])
                for (int i = 0; i < words; i++) copy[(long)ch * words + i] = ~copy[(long)ch * words + i];
        return copy;
    }

    enum Range : byte { None, All, Lower, Upper, TwoSided }

    static Range Classify(long l, long h, long maxP) =>
        l > maxP || h < 0 || l > h ? Range.None
        : l <= 0 && h >= maxP ? Range.All
        : l <= 0 ? Range.Upper
        : h >= maxP ? Range.Lower
        : Range.TwoSided;

    static long FloorDiv2(long v) => v >> 1; // arithmetic shift: floor for negatives too
}
