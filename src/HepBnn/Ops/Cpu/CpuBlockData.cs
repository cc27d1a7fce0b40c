using System.Numerics;
using HepBnn.Devices;

namespace HepBnn.Ops.Cpu;

/// <summary>
/// What the CPU kernels of one block precompute at Prepare: patch geometry, border classes, thresholds moved onto the
/// popcount, and weights rearranged for the kernel's vector width.
/// <para><b>Patch.</b> A conv output pixel reads kh·kw taps. The kernels gather them into a contiguous patch in
/// [ky][kx][C] order (packed words for binary input, int16 pixels for the image), with zeros at out-of-bounds taps —
/// the same order as one channel's weights, so every channel's dot is one contiguous loop. A dense block's patch is the
/// input sample itself (no copy).</para>
/// <para><b>Binary thresholds on the popcount.</b> With zeros at out-of-bounds taps, P = Σ popcount(patch XOR w) counts
/// popcount(w) there too, so the pre-activation is x = n − 2(P − oob) = Corr − 2P with Corr = n + 2·oob, per (border
/// class, channel). "Sign·x ≥ Value" then is "P ∈ [Lo, Lo + Span]", tested branch-free as (P − Lo) ≤ Span unsigned.</para>
/// <para><b>Border classes</b> here combine the in-bounds tap range with the block's own threshold class (the image
/// layer's normalization), so one class index selects both the correction and the threshold.</para>
/// </summary>
public sealed class CpuBlockData
{
    public Block Block { get; }
    public bool IsImage { get; }
    /// <summary>Binary: words of a patch (kh·kw·ChannelWords). Image: pixel bytes (kh·kw·C) rounded up to an even count;
    /// with per-channel sums C·<see cref="ChannelPatchLength"/> (planar).</summary>
    public int PatchLength { get; }
    /// <summary>Image with per-channel sums: the patch is planar, [C][kh·kw rounded up to even] (zero pad byte), so each
    /// input channel's sum S_c is one contiguous dot product of this many bytes; 0 otherwise.</summary>
    public int ChannelPatchLength { get; }
    /// <summary>Image: for each patch byte, the offset of its source byte from the patch's top-left tap in the sample
    /// (for pixels whose taps are all in bounds), or −1 for a pad byte (always the second of a pair). The gather
    /// writes each pixel pair as one 16-bit store, so the kernel's 16-bit broadcasts read what one store wrote (a
    /// load spanning two byte stores cannot be forwarded from the store buffer and waits for them to commit).</summary>
    public int[] PixelOffsets { get; } = [];
    /// <summary>Dense binary block: the patch is the input sample itself.</summary>
    public bool PatchIsSample { get; }
    /// <summary>Output channels rounded up to whole 64-bit words: the stride of the per-class arrays.</summary>
    public int PaddedK { get; }

    /// <summary>Border class of each conv output row / column, and each class's in-bounds tap range [Lo, Hi).</summary>
    public int[] RowClass { get; }
    public int[] ColClass { get; }
    public (int Lo, int Hi)[] RowTaps { get; }
    public (int Lo, int Hi)[] ColTaps { get; }
    public int ColClasses => ColTaps.Length;
    /// <summary>Whether every tap of conv output row / column lies in bounds (interior pixels need no zeros).</summary>
    public bool[] FullRow { get; }
    public bool[] FullCol { get; }

    /// <summary>Binary, [class][PaddedK]: the output bit fires iff (P − Lo) ≤ Span, unsigned. Channels ≥ K never fire
    /// (tail bits stay zero).</summary>
    public ulong[] Lo { get; } = [];
    public ulong[] Span { get; } = [];
    /// <summary>Image, [class][PaddedK]: fires iff (uint)(x − SumLo) ≤ SumSpan for the raw integer sum x.</summary>
    public uint[] SumLo { get; } = [];
    public uint[] SumSpan { get; } = [];
    /// <summary>The same test on 16 bits, (ushort)(x − SumLo16) ≤ SumSpan16, for image layers whose sums fit int16
    /// (patch ≤ 64 pixel pairs: |x| ≤ 32,640), so a kernel can compare VPMADDUBSW's int16 sums without widening them.
    /// Exact: with lo ∈ [−max, max + 1] and span ≤ max − lo, a sum below lo wraps to ≥ 65,536 − (lo + max) > span.
    /// Empty unless <see cref="HasSums16"/>.</summary>
    public ushort[] SumLo16 { get; } = [];
    public ushort[] SumSpan16 { get; } = [];
    public bool HasSums16 => SumLo16.Length > 0;
    /// <summary>Image with per-channel divisors (<see cref="Block.HasChannelSums"/>), [class][PaddedK]: fires iff
    /// WideLo ≤ P ≤ WideHi for P = Σ_c Multipliers[c]·S_c (S_c: the sum over input channel c's taps).</summary>
    public long[] WideLo { get; } = [];
    public long[] WideHi { get; } = [];
    /// <summary>q_c per input channel (empty unless the block keeps per-channel sums).</summary>
    public long[] Multipliers { get; } = [];
    public bool HasChannelSums => Multipliers.Length > 0;
    /// <summary>Per-channel sums: the weights of every input channel c as a separate set over that channel's
    /// <see cref="ChannelPatchLength"/> taps of the planar patch, in the kernel's layout (<see cref="ImageLaneWeights"/>
    /// with PatchLength = ChannelPatchLength, or [K][ChannelPatchLength] for the scalar kernel), so the kernel's own dot
    /// product over patch bytes [c·ChannelPatchLength, …) yields S_c. Set c starts at c·<see cref="ImageSetLength"/>.</summary>
    public sbyte[] ChannelImageWeights { get; } = [];
    public int ImageSetLength { get; }
    /// <summary>AVX-512 per-channel sums: the 32-bit filter in front of the 64-bit test (null when not applicable).</summary>
    public NarrowChannelSums? Narrow { get; }
    /// <summary>Tests only: widens <see cref="Narrow"/>'s uncertain band so that every word takes the exact path.</summary>
    [ThreadStatic] internal static long NarrowExtraSlack;

    /// <summary>Binary scores: x = Corr − 2P, [class][PaddedK].</summary>
    public int[] Corr { get; } = [];

    /// <summary>Binary lanes: weights as [group][PatchLength][Lanes] (channel group g = channels g·Lanes…), zero-padded.</summary>
    public ulong[] LaneWeights { get; } = [];
    /// <summary>AVX-512 two-pixel kernel (binary convs): weights as
    /// [group of 16 channels][2·PatchLength 32-bit half-words][16], so one tree (and one epilogue) serves 16 channels;
    /// with the thresholds as 32-bit tables [class][PaddedK] (<see cref="Lo32"/>, <see cref="Span32"/>). Empty otherwise.
    /// Odd half-words hold the high half XORed with the low half of their 64-bit word (see <see cref="PairXorPatches"/>).</summary>
    public uint[] HalfLaneWeights { get; } = [];
    /// <summary>The two-pixel binary kernel reads its patches in pair-XOR form: each 64-bit word's high half XORed with
    /// its low half (<see cref="CpuBlockKernels.XorPairHalves"/>, applied to the gathered patches), as the weights of
    /// <see cref="HalfLaneWeights"/>. popcount(p ^ w) over a pair of half-words is unchanged by it, but the kernel
    /// gets x0 ^ x1 of a pair from one XOR of the stored words, so the pair's carry no longer waits for its new sum
    /// (Simd512Kernel.PairCsa).</summary>
    public bool PairXorPatches => HalfLaneWeights.Length > 0;
    public uint[] Lo32 { get; } = [];
    public uint[] Span32 { get; } = [];

    public int BinaryLanes { get; }
    /// <summary>Image lanes: ±1 weights as [group][PatchLength/2][Lanes][2] sbytes, for the multiply-add of unsigned
    /// pixel pairs (VPMADDUBSW) into one int16 per channel.</summary>
    public sbyte[] ImageLaneWeights { get; } = [];
    public int ImageLanes { get; }

    /// <summary>Most pixel pairs whose int16 sums (VPMADDUBSW, |sum| ≤ 255·2 per pair) cannot overflow: 64·510 = 32,640.</summary>
    public const int MaxPairs16 = 64;

    /// <summary>Most per-(border class, channel) table entries a block may need (20 bytes each): a bound that only absurd
    /// layers (kernels near 64×64 with as much padding and thousands of channels) exceed.</summary>
    public const long MaxTableEntries = 1L << 24;

    /// <summary>Whether the CPU kernels can run <paramref name="block"/>: its tables fit <see cref="MaxTableEntries"/> and
    /// the image layer's sums fit 32 bits.</summary>
    public static bool Fits(Block block)
    {
        var s = block.InputShape;
        long rows = BorderClasses.Compute(s.H, block.ConvShape.H, block.KernelH, block.Stride, block.Padding).Ranges.Count;
        long cols = BorderClasses.Compute(s.W, block.ConvShape.W, block.KernelW, block.Stride, block.Padding).Ranges.Count;
        long classes = rows * Math.Max(1, block.RowClasses) * cols * Math.Max(1, block.ColClasses);
        long taps = (long)block.KernelH * block.KernelW * s.C;
        return classes * ((block.OutChannels + 63) & ~63) <= MaxTableEntries
               && (block.Input != BlockInput.Image || taps * 255 <= int.MaxValue / 2);
    }

    /// <param name="binaryLanes">Channels per vector of the binary kernel (0 = scalar: uses the block's packed weights).</param>
    /// <param name="imageLanes">int16 channels per vector of the image kernel (0 = scalar: uses the block's ±1 weights).</param>
    public CpuBlockData(Block block, int binaryLanes, int imageLanes)
    {
        Block = block;
        IsImage = block.Input == BlockInput.Image;
        var s = block.InputShape;
        int k = block.OutChannels, kh = block.KernelH, kw = block.KernelW;
        PaddedK = (k + 63) & ~63;
        long taps = (long)kh * kw * s.C;
        if (!Fits(block))
            throw new HepBnnException($"block {block.Name}: too large for the CPU kernels (border-class tables over {MaxTableEntries} entries, or image sums beyond 32 bits)");
        if (IsImage && block.HasChannelSums) ChannelPatchLength = (kh * kw + 1) & ~1;
        PatchLength = ChannelPatchLength > 0 ? s.C * ChannelPatchLength : IsImage ? (int)((taps + 1) & ~1L) : kh * kw * s.ChannelWords;
        PatchIsSample = !IsImage && block.IsDense;
        if (IsImage) PixelOffsets = ImagePixelOffsets(block, PatchLength, ChannelPatchLength);

        (RowClass, RowTaps) = Classes(s.H, block.ConvShape.H, kh, block.Stride, block.Padding, block.RowClassOf);
        (ColClass, ColTaps) = Classes(s.W, block.ConvShape.W, kw, block.Stride, block.Padding, block.ColClassOf);
        int classes = RowTaps.Length * ColTaps.Length;
        FullRow = RowClass.Select(c => RowTaps[c] == (0, kh)).ToArray();
        FullCol = ColClass.Select(c => ColTaps[c] == (0, kw)).ToArray();
        var rowRep = Representatives(RowClass, RowTaps.Length);
        var colRep = Representatives(ColClass, ColTaps.Length);

        if (!IsImage)
        {
            var tapPop = TapPopCounts(block);
            Corr = new int[classes * PaddedK];
            for (int c = 0; c < classes; c++)
            {
                var (ry, cx) = (RowTaps[c / ColClasses], ColTaps[c % ColClasses]);
                int validTaps = Math.Max(0, ry.Hi - ry.Lo) * Math.Max(0, cx.Hi - cx.Lo);
                for (int ch = 0; ch < k; ch++)
                {
                    long oob = 0;
                    for (int ky = 0; ky < kh; ky++)
                        for (int kx = 0; kx < kw; kx++)
                            if (ky < ry.Lo || ky >= ry.Hi || kx < cx.Lo || kx >= cx.Hi) oob += tapPop[(ch * kh + ky) * kw + kx];
                    Corr[c * PaddedK + ch] = checked((int)((long)validTaps * s.C + 2 * oob));
                }
            }
        }

        if (IsImage && block.HasChannelSums)
        {
            Multipliers = block.ChannelMultipliers;
            WideLo = new long[classes * PaddedK];
            WideHi = new long[classes * PaddedK];
            for (int c = 0; c < classes; c++)
                for (int ch = 0; ch < PaddedK; ch++)
                    (WideLo[c * PaddedK + ch], WideHi[c * PaddedK + ch]) = ch < k
                        ? WideRange(block.WideThresholdAt(ch, rowRep[c / ColClasses], colRep[c % ColClasses]))
                        : (long.MaxValue, long.MinValue); // padding channels never fire
            int inC = s.C;
            var planes = Enumerable.Range(0, inC).Select(c => ChannelPlane(block.ImageWeights!, k, kh * kw, inC, c, ChannelPatchLength)).ToArray();
            var sets = planes.Select(w => imageLanes > 0 ? ImagePairWeights(k, w, ChannelPatchLength, ChannelPatchLength, imageLanes) : w).ToArray();
            ImageSetLength = sets[0].Length;
            ChannelImageWeights = sets.SelectMany(x => x).ToArray();
            if (imageLanes == 32 && ChannelPatchLength / 2 <= MaxPairs16)
                Narrow = NarrowChannelSums.Create(Multipliers, kh * kw, WideLo, WideHi, PaddedK, NarrowExtraSlack);
        }
        else if (block.Output == BlockOutput.Bits)
        {
            long max = IsImage ? 255 * taps : (long)PatchLength * 64;
            var lo = new long[classes * PaddedK];
            var hi = new long[classes * PaddedK];
            for (int c = 0; c < classes; c++)
                for (int ch = 0; ch < PaddedK; ch++)
                {
                    var r = (Lo: max + 1, Hi: max + 1); // empty: padding channels never fire
                    if (ch < k)
                    {
                        var t = block.ThresholdAt(ch, rowRep[c / ColClasses], colRep[c % ColClasses]);
                        r = IsImage ? SumRange(t, max) : CountRange(t, Corr[c * PaddedK + ch], max);
                        if (r.Lo > r.Hi) r = (max + 1, max + 1);
                    }
                    (lo[c * PaddedK + ch], hi[c * PaddedK + ch]) = r;
                }
            if (IsImage)
            {
                SumLo = lo.Select(v => (uint)(int)v).ToArray();
                SumSpan = lo.Zip(hi, (l, h) => (uint)(h - l)).ToArray();
                if (PatchLength / 2 <= MaxPairs16)
                {
                    SumLo16 = lo.Select(v => (ushort)(short)v).ToArray(); // lo ∈ [−max, max + 1], max ≤ 32,640
                    SumSpan16 = lo.Zip(hi, (l, h) => (ushort)(h - l)).ToArray();
                }
            }
            else
            {
                Lo = lo.Select(v => (ulong)v).ToArray();
                Span = lo.Zip(hi, (l, h) => (ulong)(h - l)).ToArray();
            }
        }

        if (binaryLanes > 0 && !IsImage)
        {
            BinaryLanes = binaryLanes;
            LaneWeights = BinaryLaneWeights(block, PatchLength, binaryLanes);
            // every conv patch length gains (same run, 1 thread: 18-word -13..-19%, 36-word -12%, 72-word -5%); dense
            // blocks (one pixel, weights streamed from L2) measured mixed: VGG3 fc1 -7% at b1, +5% at b16
            if (binaryLanes == 8 && !PatchIsSample && block.Output == BlockOutput.Bits)
            {
                HalfLaneWeights = HalfLaneWeightsOf(block, PatchLength);
                Lo32 = Lo.Select(v => (uint)v).ToArray(); // P ≤ 64·PatchLength + 1 fits 32 bits
                Span32 = Span.Select(v => (uint)v).ToArray();
            }
        }
        if (imageLanes > 0 && IsImage)
        {
            ImageLanes = imageLanes;
            if (!HasChannelSums) ImageLaneWeights = ImagePairWeights(k, block.ImageWeights!, (int)taps, PatchLength, imageLanes);
        }
        // Every table the kernels load as whole vectors starts on a cache line, in every instance alike (AlignedArrays: why).
        LaneWeights = AlignedArrays.Copy(LaneWeights); HalfLaneWeights = AlignedArrays.Copy(HalfLaneWeights);
        ImageLaneWeights = AlignedArrays.Copy(ImageLaneWeights); ChannelImageWeights = AlignedArrays.Copy(ChannelImageWeights);
        Lo = AlignedArrays.Copy(Lo); Span = AlignedArrays.Copy(Span); Lo32 = AlignedArrays.Copy(Lo32); Span32 = AlignedArrays.Copy(Span32);
        SumLo = AlignedArrays.Copy(SumLo); SumSpan = AlignedArrays.Copy(SumSpan);
        SumLo16 = AlignedArrays.Copy(SumLo16); SumSpan16 = AlignedArrays.Copy(SumSpan16);
        WideLo = AlignedArrays.Copy(WideLo); WideHi = AlignedArrays.Copy(WideHi); Corr = AlignedArrays.Copy(Corr);
    }

    /// <summary>See <see cref="PixelOffsets"/>: patch order [ky][kx][C], or planar [C][ky·kw + kx] padded to
    /// <paramref name="plane"/> bytes per channel.</summary>
    static int[] ImagePixelOffsets(Block block, int patchLength, int plane)
    {
        int c = block.InputShape.C, kh = block.KernelH, kw = block.KernelW, rowBytes = block.InputShape.W * c;
        var off = new int[patchLength];
        for (int j = 0; j < patchLength; j++)
        {
            int ky, kx, ch;
            if (plane > 0)
            {
                ch = j / plane;
                int tap = j % plane;
                if (tap >= kh * kw) { off[j] = -1; continue; }
                (ky, kx) = (tap / kw, tap % kw);
            }
            else
            {
                if (j >= kh * kw * c) { off[j] = -1; continue; }
                (ky, kx, ch) = (j / (kw * c), j / c % kw, j % c);
            }
            off[j] = ky * rowBytes + kx * c + ch;
        }
        return off;
    }

    /// <summary>P range where sign·P ≥ value.</summary>
    static (long Lo, long Hi) WideRange(WideThreshold t) => t.Sign switch
    {
        > 0 => (t.Value, long.MaxValue),
        < 0 => (long.MinValue, -t.Value),
        _ => t.Value <= 0 ? (long.MinValue, long.MaxValue) : (long.MaxValue, long.MinValue),
    };

    /// <summary>Input channel <paramref name="c"/>'s weights out of [K][kh·kw][C], as [K][<paramref name="length"/>]
    /// (taps in [ky][kx] order, zeros after the last tap).</summary>
    static sbyte[] ChannelPlane(sbyte[] w, int k, int taps, int channels, int c, int length)
    {
        var m = new sbyte[(long)k * length];
        for (int ch = 0; ch < k; ch++)
            for (int t = 0; t < taps; t++) m[(long)ch * length + t] = w[((long)ch * taps + t) * channels + c];
        return m;
    }

    /// <summary>P range where sign·(corr − 2P) ≥ value.</summary>
    static (long Lo, long Hi) CountRange(Threshold t, long corr, long maxP) => t.Sign switch
    {
        > 0 => (0, Math.Min(maxP, FloorDiv2(corr - t.Value))),
        < 0 => (Math.Max(0, -FloorDiv2(-(corr + t.Value))), maxP),
        _ => t.Value <= 0 ? (0, maxP) : (1, 0),
    };

    /// <summary>Range of the raw sum x (|x| ≤ max) where sign·x ≥ value.</summary>
    static (long Lo, long Hi) SumRange(Threshold t, long max) => t.Sign switch
    {
        > 0 => (Math.Max(-max, t.Value), max),
        < 0 => (-max, Math.Min(max, -(long)t.Value)),
        _ => t.Value <= 0 ? (-max, max) : (1, 0),
    };

    static long FloorDiv2(long v) => v >> 1; // arithmetic shift = floor division by 2, also for negatives

    /// <summary>Classes keyed by (in-bounds tap range, block threshold class).</summary>
    static (int[] ClassOf, (int Lo, int Hi)[] Taps) Classes(int inSize, int outSize, int kernel, int stride, int pad, int[] blockClass)
    {
        var classOf = new int[outSize];
        var keys = new List<(int Lo, int Hi, int Block)>();
        for (int o = 0; o < outSize; o++)
        {
            var (lo, hi) = BorderClasses.TapRange(o, inSize, kernel, stride, pad);
            var key = (lo, hi, blockClass.Length > o ? blockClass[o] : 0);
            int idx = keys.IndexOf(key);
            if (idx < 0) { idx = keys.Count; keys.Add(key); }
            classOf[o] = idx;
        }
        return (classOf, keys.Select(x => (x.Lo, x.Hi)).ToArray());
    }

    static int[] Representatives(int[] classOf, int classes)
    {
        var rep = new int[classes];
        for (int o = classOf.Length - 1; o >= 0; o--) rep[classOf[o]] = o;
        return rep;
    }

    /// <summary>popcount of each channel's weights per tap: [K][kh][kw].</summary>
    static int[] TapPopCounts(Block b)
    {
        int cw = b.InputWords, taps = b.KernelH * b.KernelW;
        var w = b.PackedWeights!;
        var pop = new int[b.OutChannels * taps];
        for (int t = 0; t < pop.Length; t++)
            for (int i = 0; i < cw; i++) pop[t] += BitOperations.PopCount(w[(long)t * cw + i]);
        return pop;
    }

    /// <summary>See <see cref="HalfLaneWeights"/>: half-word h of channel ch's patch weights (little-endian halves of its
    /// 64-bit words, as the patch's own uint view; odd h: high XOR low half) at [(ch / 16)·2·patch + h][ch % 16],
    /// zero-padded channels.</summary>
    static uint[] HalfLaneWeightsOf(Block b, int patch)
    {
        int k = b.OutChannels, groups = (k + 15) / 16, len = 2 * patch;
        var w = b.PackedWeights!;
        var t = new uint[(long)groups * len * 16];
        for (int ch = 0; ch < k; ch++)
            for (int h = 0; h < len; h++)
            {
                ulong word = w[(long)ch * patch + h / 2];
                t[((long)(ch / 16) * len + h) * 16 + ch % 16] = (uint)((h & 1) == 0 ? word : word >> 32 ^ word);
            }
        return t;
    }

    static ulong[] BinaryLaneWeights(Block b, int patch, int lanes)
    {
        int k = b.OutChannels, groups = (k + lanes - 1) / lanes;
        var w = b.PackedWeights!;
        var t = new ulong[(long)groups * patch * lanes];
        for (int ch = 0; ch < k; ch++)
            for (int j = 0; j < patch; j++)
                t[((long)(ch / lanes) * patch + j) * lanes + ch % lanes] = w[(long)ch * patch + j];
        return t;
    }

    /// <summary>±1 weights [K][taps] as [group][patch/2][lanes][2] (zeros past the last tap and channel).</summary>
    static sbyte[] ImagePairWeights(int k, sbyte[] w, int taps, int patch, int lanes)
    {
        int groups = (k + lanes - 1) / lanes, pairs = patch / 2;
        var t = new sbyte[(long)groups * pairs * lanes * 2];
        for (int ch = 0; ch < k; ch++)
            for (int i = 0; i < taps; i++)
                t[(((long)(ch / lanes) * pairs + i / 2) * lanes + ch % lanes) * 2 + (i & 1)] = w[(long)ch * taps + i];
        return t;
    }
}
