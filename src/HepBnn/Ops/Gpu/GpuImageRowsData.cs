using HepBnn.Ops.Cpu;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The constants of <see cref="GpuTensorCoreImageRows"/>, built at Prepare: the weights in the kernel's chunk order, each
/// channel's sign, and per (border class, channel) the offset that makes the pooled bit a sign test.
/// <para>Chunk order: the patch's reduction runs over 4-byte chunks of input rows: chunk i = (ky, q) covers the bytes
/// 4q..4q+3 of kernel row ky's kw·C contiguous input bytes ([kx][c], the image's own order), so a lane reads one chunk
/// with two aligned 32-bit loads and a funnel shift instead of four byte gathers. Chunks per kernel row
/// Q = ⌈kw·C / 4⌉; bytes past kw·C have zero weights.</para>
/// <para>Thresholds: an image block's raw sum x fires iff x ∈ [lo, hi] (per class and channel, from BatchNorm: one side
/// is always the whole range [−max, max], max = 255·taps). With a per-channel sign s and offset N (per class), the
/// kernel's accumulators start at N and hold z = s·x + N; the pooled bit is the sign of the window's max z, inverted for
/// OR-pooled channels. Per channel, with the window's sums x_i:</para>
/// <list type="bullet">
/// <item>OR, x ≥ lo: ∃ x_i ≥ lo ⟺ max(x_i − lo) ≥ 0: s = +1, N = −lo.</item>
/// <item>OR, x ≤ hi: ∃ x_i ≤ hi ⟺ max(hi − x_i) ≥ 0: s = −1, N = hi.</item>
/// <item>AND, x ≥ lo: ∀ x_i ≥ lo ⟺ max(lo − 1 − x_i) &lt; 0: s = −1, N = lo − 1.</item>
/// <item>AND, x ≤ hi: ∀ x_i ≤ hi ⟺ max(x_i − hi − 1) &lt; 0: s = +1, N = −hi − 1.</item>
/// </list>
/// Never/always firing channels are the x ≥ lo case with lo = max + 1 / −max. A window's rows may lie in different
/// border classes: each row's accumulators start at its own class's N, so the max is over the rows' own margins.
/// A channel whose range is bounded on both sides within [−max, max] in some class is refused (not from BatchNorm).
/// </summary>
internal static class GpuImageRowsData
{
    /// <summary>meta: [0..1] magic of OutH·OutW (low, high int), [2] its shift, [3..4] magic of OutW, [5] its shift,
    /// [6] chunks (kh·Q), [7] Q, [8] offset of the per-class N table in the weights array (ulongs),
    /// [9] 1 when whole 2×2 windows are pooled, [10] column classes, [11] 1 when every class has the same offsets (the
    /// kernel then reads class 0's and no row's class), then the row class of each conv row and the column class of each
    /// conv column (a row's class: row class · column classes + column class).</summary>
    public const int PerMagic = 0, WidthMagic = 3, Chunks = 6, ChunksPerRow = 7, OffsetTable = 8, Pooled = 9, ColClasses = 10, Uniform = 11, Classes = 12;

    /// <summary>Most chunks (two byte-MMA steps of 8 chunks, held in registers for every channel tile).</summary>
    public const int MaxChunks = 16;

    public static int ChunksPerKernelRow(Block b) => (b.KernelW * b.InputShape.C + 3) / 4;

    /// <summary>Why the layout or thresholds do not fit (null when they do).</summary>
    public static string? Refusal(Block block)
    {
        if (block.KernelH * ChunksPerKernelRow(block) > MaxChunks)
            return $"patches over {MaxChunks} 4-byte input-row chunks (kh·⌈kw·C/4⌉ = {block.KernelH * ChunksPerKernelRow(block)})";
        if (!CpuBlockData.Fits(block)) return "border-class tables too large";
        return Signs(new CpuBlockData(block, 0, 0), block, out _) is { } ch ? $"channel {ch}'s threshold range is bounded on both sides" : null;
    }

    /// <summary>Per channel: true for x ≥ lo (every class's hi is the top), false for x ≤ hi; the first channel that is
    /// neither, or null.</summary>
    static int? Signs(CpuBlockData t, Block block, out bool[] upper)
    {
        int k = block.OutChannels, classes = t.RowTaps.Length * t.ColTaps.Length;
        long max = 255L * block.KernelH * block.KernelW * block.InputShape.C;
        upper = new bool[k];
        for (int ch = 0; ch < k; ch++)
        {
            bool up = true, down = true;
            for (int c = 0; c < classes; c++)
            {
                var (lo, hi) = Range(t, c * t.PaddedK + ch);
                up &= hi >= max;
                down &= lo <= -max;
            }
            if (!up && !down) return ch;
            upper[ch] = up;
        }
        return null;
    }

    static (long Lo, long Hi) Range(CpuBlockData t, int i)
    {
        long lo = (int)t.SumLo[i];
        return (lo, lo + t.SumSpan[i]);
    }

    /// <summary>Weights (B fragments, then the N table as channel pairs [class][PaddedK / 2]) and meta.</summary>
    public static (ulong[] Weights, int[] Meta) Build(Block block, GpuBlockParams p)
    {
        var t = new CpuBlockData(block, 0, 0);
        if (Signs(t, block, out var upper) is { } bad) throw new HepBnnException($"block {block.Name}: channel {bad}'s threshold range is bounded on both sides");
        int k = block.OutChannels, pk = p.PaddedK, classes = t.RowTaps.Length * t.ColTaps.Length;
        var sign = new int[k];
        var offsets = new int[classes * pk];
        for (int ch = 0; ch < pk; ch++)
        {
            bool and = block.HasPool && block.PoolAnd.Length > ch && block.PoolAnd[ch] != 0;
            for (int c = 0; c < classes; c++)
            {
                if (ch >= k)
                {
                    offsets[c * pk + ch] = and ? 0 : -1; // padding channels: x = 0, the bit stays 0
                    continue;
                }
                var (lo, hi) = Range(t, c * t.PaddedK + ch);
                offsets[c * pk + ch] = checked((int)(upper[ch] ? (and ? lo - 1 : -lo) : (and ? -hi - 1 : hi)));
            }
            if (ch < k) sign[ch] = upper[ch] == !and ? 1 : -1;
        }

        var frag = Fragments(block, p, sign);
        var weights = new ulong[frag.Length + classes * pk / 2];
        frag.CopyTo(weights, 0);
        for (int i = 0; i < classes * pk / 2; i++)
            weights[frag.Length + i] = (uint)offsets[2 * i] | (ulong)(uint)offsets[2 * i + 1] << 32;

        int q = ChunksPerKernelRow(block);
        var meta = new int[Classes + p.ConvH + p.ConvW];
        Magic(p.OutH * p.OutW, meta, PerMagic);
        Magic(p.OutW, meta, WidthMagic);
        meta[Chunks] = block.KernelH * q;
        meta[ChunksPerRow] = q;
        meta[OffsetTable] = frag.Length;
        meta[Pooled] = block.HasPool ? 1 : 0;
        meta[ColClasses] = t.ColClasses;
        meta[Uniform] = UniformOffsets(offsets, classes, pk) ? 1 : 0;
        t.RowClass.CopyTo(meta, Classes);
        t.ColClass.CopyTo(meta, Classes + p.ConvH);
        return (weights, meta);
    }

    /// <summary>Whether every class's offsets equal class 0's (a first layer without normalization: zero padding adds
    /// nothing to the raw sums, so the thresholds do not depend on the border).</summary>
    internal static bool UniformOffsets(int[] offsets, int classes, int pk)
    {
        for (int i = pk; i < classes * pk; i++)
            if (offsets[i] != offsets[i % pk]) return false;
        return true;
    }

    /// <summary>x / d = (x · m) >> s for 0 ≤ x &lt; 2^31: s = 31 + ⌈log2 d⌉, m = ⌈2^s / d⌉ ≤ 2^32 (m·d − 2^s &lt; d, so the
    /// error x·(m·d − 2^s) / (d·2^s) stays under 1/d). The kernel's division without a division instruction.</summary>
    internal static (ulong M, int S) MagicOf(int d)
    {
        if (d < 1) throw new ArgumentOutOfRangeException(nameof(d));
        int log = 0;
        while ((1L << log) < d) log++;
        int s = 31 + log;
        ulong m = ((1UL << s) + (ulong)d - 1) / (ulong)d; // ⌈2^s / d⌉ ≤ 2^32 (s ≤ 62)
        return (m, s);
    }

    static void Magic(int d, int[] meta, int at)
    {
        var (m, s) = MagicOf(d);
        meta[at] = (int)(uint)m;
        meta[at + 1] = (int)(uint)(m >> 32);
        meta[at + 2] = s;
    }

    /// <summary>B fragments (<see cref="GpuTensorCore.BFragments"/>): lane t holds chunks 8·step + t (low half) and
    /// 8·step + 4 + t (high half), each channel's weights times its sign.</summary>
    static ulong[] Fragments(Block block, GpuBlockParams p, int[] sign)
    {
        var w = block.ImageWeights!;
        int c = block.InputShape.C, kw = block.KernelW, row = kw * c, taps = block.KernelH * row;
        int q = ChunksPerKernelRow(block), chunks = block.KernelH * q;
        return GpuTensorCore.BFragments(block.OutChannels, p.PaddedK, p.KSteps, (ch, s, t) => (Chunk(ch, 8 * s + t), Chunk(ch, 8 * s + 4 + t)));

        uint Chunk(int ch, int i)
        {
            if (i >= chunks) return 0;
            int ky = i / q, e0 = 4 * (i - ky * q);
            uint v = 0;
            for (int j = 0; j < 4 && e0 + j < row; j++)
                v |= (uint)(byte)(sbyte)(sign[ch] * w[(long)ch * taps + ky * row + e0 + j]) << (8 * j);
            return v;
        }
    }
}
