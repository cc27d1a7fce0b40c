using HepBnn.Ops.Cpu;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Tensor-core stages of a fused range (<see cref="GpuFusedMode.TensorCore"/>, <see cref="GpuFusedMode.TensorCoreImage"/>):
/// the implicit GEMM of <see cref="GpuTensorCore"/> (1-bit <c>mma m16n8k256 .and.popc</c>, the byte MMA for an 8-bit first
/// layer; the same B fragments and threshold tables, prepared by that class's code) cut for latency instead of throughput.
/// A work item is one WARP's 16 rows × 64 channels (rows = whole pooling windows of consecutive pooled outputs, as there);
/// each lane loads its A fragments straight from global memory (no shared staging, no group barrier per chunk), one
/// 256-bit step ahead of its MMAs. Long reductions are split over <c>Split</c> warps of a group, whose partial sums meet
/// in shared memory (one group barrier each way). The epilogue is in registers: thresholds → bits, OR over the row's 4
/// lanes and AND/OR over the pooling window with shuffles (windows of 1, 4 or 16 conv outputs), one 64-bit word per
/// pooled output. popc(a) of a row is summed from the lanes' own fragments (not a ninth MMA).
/// </summary>
public static class GpuFusedMma
{
    /// <summary>Rows per work item (one m16 tile) and most warps per group (the shared partial sums are sized for them).</summary>
    public const int Rows = 16, MaxWarps = 8;
    /// <summary>Ints of one warp's partial sums: 8 tiles × 4 accumulators + the two rows' popc(a), per lane.</summary>
    public const int PartialInts = 34 * 32;

    /// <summary>Why a block cannot be a tensor-core stage (null: it can): <see cref="GpuTensorCore"/>'s refusals, and
    /// pooling windows that the register epilogue cannot combine (only 1, 4 or 16 conv outputs).</summary>
    public static string? Refusal(Block b)
    {
        if (new GpuTensorCore().Refusal(b) is { } why) return why;
        int window = b.HasPool ? b.PoolSize * b.PoolSize : 1;
        if (window != 1 && window != 4 && window != 16) return $"pooling window of {window} conv outputs (the fused MMA epilogue combines 1, 4 or 16)";
        return null;
    }

    /// <summary>Longest serial chain of a SIMT stage's thread for this block: the loads of one output's reduction over its
    /// pooling window (kh·kw·words, or kh·kw·channels for an 8-bit image, times the window).</summary>
    public static long SimtChain(Block b) =>
        (long)b.KernelH * b.KernelW * (b.Input == BlockInput.Image ? b.InputShape.C : b.InputWords) * Window(b);

    /// <summary>Whether tensor-core stages pay for a range (the default kind of the registry's gpu.fused), from the H200
    /// runs of docs/results/h200-fused-mma: a tensor-core stage costs about 7 µs at batch 1 whatever its size (latency:
    /// the dependent loads of its warp items and epilogue), a SIMT stage 3–9 µs for VGG3's blocks (chains ≤ 49 loads) but
    /// 20–39 µs for VGG7's convs (chains of 72–288). So: tensor cores at batch ≥ 2 (VGG3 b16 whole network 52.6 µs vs
    /// 117.5, VGG7 b16 154.5 vs 911.2) or when a block's SIMT chain exceeds 64 loads (VGG7 b1 92.0 vs 141.1); SIMT stages
    /// for short chains at batch 1 (VGG3 b1: 34.7 µs SIMT-only kernel vs 42.9).</summary>
    public static bool Pays(IReadOnlyList<Block> blocks, int maxBatch) =>
        maxBatch > 1 || blocks.Any(b => Refusal(b) is null && SimtChain(b) > 64);

    /// <summary>The stage's parameters (tensor-core layout of the tables), B fragments, tables and pooling masks.</summary>
    internal static (GpuBlockParams P, ulong[] Weights, int[] Meta, ulong[] Pool) Prepare(Block block)
    {
        var p = GpuBlockParams.From(block);
        if (p.ImageInput == 1)
        {
            p.KWords = 0;
            p.KSteps = (p.KH * p.KW * p.InC + 31) / 32;
            p.YSign = 0;
        }
        else
        {
            p.KWords = p.KH * p.KW * p.InWords;
            p.KSteps = (p.KWords + 3) / 4;
            p.YSign = 1;
        }
        p.PaddedK = (p.K + 63) & ~63;
        // GpuTensorCore's table layout (its WithOffsets): [row class][col class][values per (class, channel)][spans].
        var tables = new CpuBlockData(block, 0, 0);
        int classes = tables.RowTaps.Length * tables.ColTaps.Length;
        p.ColClasses = tables.ColClasses;
        p.RowOfOffset = 0;
        p.ColOfOffset = p.ConvH;
        p.ValueOffset = p.ConvH + p.ConvW;
        p.SpanOffset = checked(p.ValueOffset + classes * p.PaddedK);
        var meta = GpuTensorCore.Meta(block, p, tables);
        if (block.Input == BlockInput.Image)
        {
            p.ImageWeightOffset = meta.Length;
            meta = [.. meta, .. GpuTensorCoreImage.Taps(block, p)];
        }
        var weights = block.Input == BlockInput.Image ? GpuTensorCoreImage.Fragments(block, p) : GpuTensorCore.Fragments(block.PackedWeights!, block.OutChannels, p);
        return (p, weights, meta, GpuBlockData.PoolAndWords(block));
    }

    /// <summary>Conv outputs per pooling window (1 without pooling).</summary>
    public static int Window(Block b) => b.HasPool ? b.PoolSize * b.PoolSize : 1;

    /// <summary>Warp work items (16-row tile × 64-channel tile) of a stage at <paramref name="batch"/>.</summary>
    public static long Items(GpuBlockParams p, int window, int batch) =>
        ((long)batch * p.OutH * p.OutW * window + Rows - 1) / Rows * (p.PaddedK / 64);

    /// <summary>256-bit steps each warp of a split reduction keeps at least (it loads one step ahead of its MMAs);
    /// <c>HEPBNN_FUSED_STEPS</c> overrides it for tuning on a GPU machine.</summary>
    public static int StepsPerWarp { get; } = int.TryParse(Environment.GetEnvironmentVariable("HEPBNN_FUSED_STEPS"), out int v) && v is >= 1 and <= 64 ? v : 2;

    /// <summary>Warps sharing one item's reduction: a power of two ≤ the group's warps while each keeps
    /// ≥ <see cref="StepsPerWarp"/> steps, and smaller where the items alone fill the grid.</summary>
    public static int SplitOf(GpuBlockParams p, int window, int maxBatch, int warpsPerGroup, long maxGroups)
    {
        int split = 1;
        while (split * 2 <= warpsPerGroup && (p.KSteps + 2 * split - 1) / (2 * split) >= StepsPerWarp) split *= 2;
        long items = Items(p, window, maxBatch);
        while (split > 1 && items * split > maxGroups * warpsPerGroup) split /= 2;
        return split;
    }

    /// <summary>One lane's A and B fragments of one 256-bit (or 32-byte) step.</summary>
    struct StepFragments
    {
        public uint A0, A1, A2, A3;
        public ulong B0, B1, B2, B3, B4, B5, B6, B7;
    }

    /// <summary>A row of the tile: sample (−1: empty), conv output row and column.</summary>
    struct Row
    {
        public int N, Y, X;

        public Row(GpuBlockParams p, GpuFusedStage st, int batch, long tile, int r)
        {
            int window = st.Window, q = r / window, win = r - q * window;
            long per = (long)p.OutH * p.OutW, gq = tile * (Rows / window) + q;
            N = -1;
            Y = 0;
            X = 0;
            if (gq < batch * per)
            {
                N = (int)(gq / per);
                int pp = (int)(gq - N * per), py = pp / p.OutW, px = pp - py * p.OutW, dy = win / p.Pool, dx = win - dy * p.Pool;
                Y = py * p.PoolStride + dy;
                X = px * p.PoolStride + dx;
            }
        }
    }

    /// <summary>The stage: every group walks item sets (Split warps per item, warps / Split items at once).</summary>
    public static void Stage(GpuFusedStage st, int batch, ArrayView<ulong> src, long inBase, ArrayView<ulong> outWords, long outBase,
        ArrayView<int> outScores, ArrayView<ulong> w, ArrayView<int> m, ArrayView<ulong> pa, ArrayView<int> partial)
    {
        var p = st.P;
        int split = st.Split, warps = Group.DimX >> 5, warp = Group.IdxX >> 5, lane = Group.IdxX & 31;
        int perGroup = warps / split, j = warp / split, part = warp - j * split;
        int tiles = p.PaddedK / 64;
        long items = Items(p, st.Window, batch);
        for (long set = (long)Grid.IdxX * perGroup; set < items; set += (long)Grid.DimX * perGroup)
        {
            long item = set + j;
            bool active = j < perGroup && item < items;
            long rowTile = active ? item / tiles : 0;
            int ct = active ? (int)(item - rowTile * tiles) : 0;
            var rA = new Row(p, st, batch, rowTile, lane >> 2);
            var rB = new Row(p, st, batch, rowTile, (lane >> 2) + 8);
            // The epilogue's table rows and pooling mask, loaded before the product so their latency hides behind it.
            int t = lane & 3;
            int clsA = active && part == 0 ? ClassOf(p, m, rA, ct, t) : -1, clsB = active && part == 0 ? ClassOf(p, m, rB, ct, t) : -1;
            ulong andMask = active && part == 0 && p.ScoresOutput == 0 ? pa[ct] : 0;
            var acc = default(MmaTile8);
            if (active)
            {
                if (p.ImageInput == 1) ImageProduct(p, src, inBase, w, m, rA, rB, ct, part, split, ref acc);
                else BitsProduct(p, src, inBase, w, rA, rB, ct, part, split, ref acc);
            }
            if (split > 1)
            {
                if (active && part != 0) Save(partial, warp * PartialInts + lane, ref acc);
                Group.Barrier();
                if (active && part == 0)
                    for (int o = 1; o < split; o++) Add(partial, (warp + o) * PartialInts + lane, ref acc);
                // The partial sums are read before the next set overwrites them (a group-uniform test: at batch 1 a group
                // has one set, and no second wait).
                if (set + (long)Grid.DimX * perGroup < items) Group.Barrier();
            }
            if (!active || part != 0) continue;
            // The rows' popc(a): each lane summed its own parts t and 4 + t of every step; the 4 lanes of a row hold all 8.
            acc.Pop.C0 += Warp.ShuffleXor(acc.Pop.C0, 1);
            acc.Pop.C0 += Warp.ShuffleXor(acc.Pop.C0, 2);
            acc.Pop.C2 += Warp.ShuffleXor(acc.Pop.C2, 1);
            acc.Pop.C2 += Warp.ShuffleXor(acc.Pop.C2, 2);
            if (p.ScoresOutput == 1) Scores(p, outScores, m, rA, rB, clsA, clsB, ct, lane, ref acc);
            else Bits(p, st, batch, outWords, outBase, m, andMask, clsA, clsB, rowTile, ct, lane, ref acc);
        }
    }

    /// <summary>Binary patch product: per step, words 4s + t/2 and 4s + 2 + t/2 of the lane's two rows (its 32-bit parts t
    /// and 4 + t), the 8 n-tiles' B fragments, loaded one step ahead of the 8 MMAs.</summary>
    static void BitsProduct(GpuBlockParams p, ArrayView<ulong> src, long inBase, ArrayView<ulong> w, Row rA, Row rB, int ct,
        int part, int split, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        long wb = (long)ct * p.KSteps * 256 + lane;
        int s = part;
        if (s >= p.KSteps) return;
        var cur = LoadBits(p, src, inBase, w, wb, rA, rB, s, t);
        for (; s < p.KSteps; s += split)
        {
            var next = cur;
            if (s + split < p.KSteps) next = LoadBits(p, src, inBase, w, wb, rA, rB, s + split, t);
            acc.Pop.C0 += Pop(cur.A0) + Pop(cur.A2);
            acc.Pop.C2 += Pop(cur.A1) + Pop(cur.A3);
            Mma8(ref acc, cur, false);
            cur = next;
        }
    }

    static StepFragments LoadBits(GpuBlockParams p, ArrayView<ulong> src, long inBase, ArrayView<ulong> w, long wb, Row rA, Row rB, int s, int t)
    {
        int lo = 4 * s + (t >> 1), hi = lo + 2, shift = 32 * (t & 1);
        var f = new StepFragments
        {
            A0 = (uint)(Word(p, src, inBase, rA, lo) >> shift),
            A1 = (uint)(Word(p, src, inBase, rB, lo) >> shift),
            A2 = (uint)(Word(p, src, inBase, rA, hi) >> shift),
            A3 = (uint)(Word(p, src, inBase, rB, hi) >> shift),
        };
        long b = wb + (long)s * 256;
        f.B0 = w[b];
        f.B1 = w[b + 32];
        f.B2 = w[b + 64];
        f.B3 = w[b + 96];
        f.B4 = w[b + 128];
        f.B5 = w[b + 160];
        f.B6 = w[b + 192];
        f.B7 = w[b + 224];
        return f;
    }

    /// <summary>Patch word <paramref name="kw"/> ([ky][kx][word]) of a row, or 0 (empty row, padding tap, past the patch).</summary>
    static ulong Word(GpuBlockParams p, ArrayView<ulong> src, long inBase, Row r, int kw)
    {
        if (r.N < 0 || kw >= p.KWords) return 0;
        int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
        int iy = r.Y * p.Stride - p.Pad + ky, ix = r.X * p.Stride - p.Pad + kx;
        if ((uint)iy >= (uint)p.InH || (uint)ix >= (uint)p.InW) return 0;
        return src[inBase + (long)r.N * p.InSample + ((long)iy * p.InW + ix) * p.InWords + wd];
    }

    /// <summary>8-bit image product on the byte MMA: per 32-element step the lane's 16 bytes of A (elements 4t..4t+3 and
    /// 16+4t.. of its two rows, located through the taps table), as <see cref="GpuTensorCoreImage"/> gathers them.</summary>
    static void ImageProduct(GpuBlockParams p, ArrayView<ulong> src, long inBase, ArrayView<ulong> w, ArrayView<int> m, Row rA, Row rB,
        int ct, int part, int split, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        long wb = (long)ct * p.KSteps * 256 + lane;
        for (int s = part; s < p.KSteps; s += split)
        {
            var f = default(StepFragments);
            int e = p.ImageWeightOffset + 64 * s + 8 * t;
            for (int i = 0; i < 4; i++)
            {
                int lo = e + 2 * i, hi = lo + 32;
                int dLo = m[lo], oLo = m[lo + 1], dHi = m[hi], oHi = m[hi + 1];
                f.A0 |= Pixel(p, src, inBase, rA, dLo, oLo) << (8 * i);
                f.A1 |= Pixel(p, src, inBase, rB, dLo, oLo) << (8 * i);
                f.A2 |= Pixel(p, src, inBase, rA, dHi, oHi) << (8 * i);
                f.A3 |= Pixel(p, src, inBase, rB, dHi, oHi) << (8 * i);
            }
            long b = wb + (long)s * 256;
            f.B0 = w[b];
            f.B1 = w[b + 32];
            f.B2 = w[b + 64];
            f.B3 = w[b + 96];
            f.B4 = w[b + 128];
            f.B5 = w[b + 160];
            f.B6 = w[b + 192];
            f.B7 = w[b + 224];
            Mma8(ref acc, f, true);
        }
    }

    /// <summary>The byte at taps entry (d = ky·65536 + kx, offset) of a row's window, or 0 (padding, past the patch, empty row).</summary>
    static uint Pixel(GpuBlockParams p, ArrayView<ulong> src, long inBase, Row r, int d, int off)
    {
        int iy = r.Y * p.Stride - p.Pad + (d >> 16), ix = r.X * p.Stride - p.Pad + (d & 0xFFFF);
        if (r.N < 0 || (uint)iy >= (uint)p.InH || (uint)ix >= (uint)p.InW) return 0;
        long pixel = (long)r.N * p.InSample + ((long)(r.Y * p.Stride - p.Pad) * p.InW + (r.X * p.Stride - p.Pad)) * p.InC + off;
        return (uint)GpuBlockMath.ImageByte(src, inBase * 8 + pixel);
    }

    static void Mma8(ref MmaTile8 acc, StepFragments f, bool bytes)
    {
        Mma(ref acc.F0, f, f.B0, bytes);
        Mma(ref acc.F1, f, f.B1, bytes);
        Mma(ref acc.F2, f, f.B2, bytes);
        Mma(ref acc.F3, f, f.B3, bytes);
        Mma(ref acc.F4, f, f.B4, bytes);
        Mma(ref acc.F5, f, f.B5, bytes);
        Mma(ref acc.F6, f, f.B6, bytes);
        Mma(ref acc.F7, f, f.B7, bytes);
    }

    static void Mma(ref MmaAccumulator c, StepFragments f, ulong b, bool bytes)
    {
        if (bytes) GpuMma.DotU8S8(ref c, f.A0, f.A1, f.A2, f.A3, (uint)b, (uint)(b >> 32));
        else GpuMma.AndPopc(ref c, f.A0, f.A1, f.A2, f.A3, (uint)b, (uint)(b >> 32));
    }

    static int Pop(uint v) => IntrinsicMath.BitOperations.PopCount(v);

    static void Save(ArrayView<int> s, int i, ref MmaTile8 a)
    {
        Save4(s, i, a.F0, 0);
        Save4(s, i, a.F1, 4);
        Save4(s, i, a.F2, 8);
        Save4(s, i, a.F3, 12);
        Save4(s, i, a.F4, 16);
        Save4(s, i, a.F5, 20);
        Save4(s, i, a.F6, 24);
        Save4(s, i, a.F7, 28);
        s[i + 32 * 32] = a.Pop.C0;
        s[i + 33 * 32] = a.Pop.C2;
    }

    static void Save4(ArrayView<int> s, int i, MmaAccumulator c, int v)
    {
        s[i + v * 32] = c.C0;
        s[i + (v + 1) * 32] = c.C1;
        s[i + (v + 2) * 32] = c.C2;
        s[i + (v + 3) * 32] = c.C3;
    }

    static void Add(ArrayView<int> s, int i, ref MmaTile8 a)
    {
        Add4(s, i, ref a.F0, 0);
        Add4(s, i, ref a.F1, 4);
        Add4(s, i, ref a.F2, 8);
        Add4(s, i, ref a.F3, 12);
        Add4(s, i, ref a.F4, 16);
        Add4(s, i, ref a.F5, 20);
        Add4(s, i, ref a.F6, 24);
        Add4(s, i, ref a.F7, 28);
        a.Pop.C0 += s[i + 32 * 32];
        a.Pop.C2 += s[i + 33 * 32];
    }

    static void Add4(ArrayView<int> s, int i, ref MmaAccumulator c, int v)
    {
        c.C0 += s[i + v * 32];
        c.C1 += s[i + (v + 1) * 32];
        c.C2 += s[i + (v + 2) * 32];
        c.C3 += s[i + (v + 3) * 32];
    }

    /// <summary>Thresholds → bits of the lane's two rows, OR over the row's 4 lanes, AND/OR over each pooling window's
    /// rows with shuffles, one word stored per pooled output by the window's first lane.</summary>
    static void Bits(GpuBlockParams p, GpuFusedStage st, int batch, ArrayView<ulong> outWords, long outBase, ArrayView<int> m,
        ulong andMask, int clsA, int clsB, long rowTile, int ct, int lane, ref MmaTile8 acc)
    {
        int t = lane & 3, g = lane >> 2;
        ulong upper = RowBits(p, m, clsA, t, acc.Pop.C0, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1, acc.F2.C0, acc.F2.C1,
            acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        ulong lower = RowBits(p, m, clsB, t, acc.Pop.C2, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3, acc.F2.C2, acc.F2.C3,
            acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
        upper |= Shuffle(upper, 1);
        lower |= Shuffle(lower, 1);
        upper |= Shuffle(upper, 2);
        lower |= Shuffle(lower, 2);
        int window = st.Window;
        // any = OR, all = AND over the window's rows: rows g of lanes that differ in the low bits of g (xor 4, 8), and for
        // a 16-row window all 8 values of g (xor 16 too) and both rows of a lane.
        ulong anyU = upper, allU = upper, anyL = lower, allL = lower;
        if (window >= 4)
        {
            for (int d = 4; d <= (window == 16 ? 16 : 8); d <<= 1)
            {
                anyU |= Shuffle(anyU, d);
                allU &= Shuffle(allU, d);
                anyL |= Shuffle(anyL, d);
                allL &= Shuffle(allL, d);
            }
        }
        if (window == 16)
        {
            anyU |= anyL;
            allU &= allL;
        }
        if (t != 0 || g % (window > 8 ? 8 : window) != 0) return;
        int pooledPerTile = Rows / window;
        long per = (long)p.OutH * p.OutW, total = batch * per;
        long qU = rowTile * pooledPerTile + g / window;
        if (qU < total)
        {
            long n = qU / per;
            outWords[outBase + n * p.OutSample + (qU - n * per) * p.OutWords + ct] = (allU & andMask) | (anyU & ~andMask);
        }
        if (window == 16) return;
        long qL = rowTile * pooledPerTile + (g + 8) / window;
        if (qL < total)
        {
            long n = qL / per;
            outWords[outBase + n * p.OutSample + (qL - n * per) * p.OutWords + ct] = (allL & andMask) | (anyL & ~andMask);
        }
    }

    /// <summary>A 64-bit value from lane (lane ^ d), as two 32-bit shuffles.</summary>
    static ulong Shuffle(ulong v, int d)
    {
        uint lo = Warp.ShuffleXor((uint)v, d), hi = Warp.ShuffleXor((uint)(v >> 32), d);
        return lo | (ulong)hi << 32;
    }

    /// <summary>Table index of (row's border class, channel 2t of tile ct), or −1 for an empty row.</summary>
    static int ClassOf(GpuBlockParams p, ArrayView<int> m, Row r, int ct, int t) =>
        r.N < 0 ? -1 : (m[p.RowOfOffset + r.Y] * p.ColClasses + m[p.ColOfOffset + r.X]) * p.PaddedK + ct * 64 + 2 * t;

    /// <summary>This lane's 16 bits of a row (channels 8f + 2t, 8f + 2t + 1 of the tile), as <see cref="BitsEpilogue"/>.</summary>
    static ulong RowBits(GpuBlockParams p, ArrayView<int> m, int cls, int t, int pop, int x00, int x01, int x10, int x11,
        int x20, int x21, int x30, int x31, int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        if (cls < 0) return 0;
        return Pair(p, m, cls, pop, x00, x01) << (2 * t) | Pair(p, m, cls + 8, pop, x10, x11) << (8 + 2 * t)
             | Pair(p, m, cls + 16, pop, x20, x21) << (16 + 2 * t) | Pair(p, m, cls + 24, pop, x30, x31) << (24 + 2 * t)
             | Pair(p, m, cls + 32, pop, x40, x41) << (32 + 2 * t) | Pair(p, m, cls + 40, pop, x50, x51) << (40 + 2 * t)
             | Pair(p, m, cls + 48, pop, x60, x61) << (48 + 2 * t) | Pair(p, m, cls + 56, pop, x70, x71) << (56 + 2 * t);
    }

    /// <summary>Bits of channels i, i+1: bits input P − Lo' = popc(a) − 2·popc(a ∧ w) − (Lo − popc(w)) within the span,
    /// image input the raw sum − SumLo within the span.</summary>
    static ulong Pair(GpuBlockParams p, ArrayView<int> m, int i, int pop, int x0, int x1)
    {
        int y0 = p.YSign == 0 ? x0 : pop - 2 * x0, y1 = p.YSign == 0 ? x1 : pop - 2 * x1;
        ulong b0 = (uint)(y0 - m[p.ValueOffset + i]) <= (uint)m[p.SpanOffset + i] ? 1UL : 0UL;
        ulong b1 = (uint)(y1 - m[p.ValueOffset + i + 1]) <= (uint)m[p.SpanOffset + i + 1] ? 1UL : 0UL;
        return b0 | b1 << 1;
    }

    /// <summary>Scores x = (Corr − 2·popc(w)) − 2·popc(a) + 4·popc(a ∧ w) of the lane's two rows (no pooling).</summary>
    static void Scores(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> m, Row rA, Row rB, int clsA, int clsB, int ct, int lane, ref MmaTile8 acc)
    {
        int t = lane & 3;
        RowScores(p, outScores, m, rA, clsA, ct, t, acc.Pop.C0, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1, acc.F2.C0, acc.F2.C1,
            acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        RowScores(p, outScores, m, rB, clsB, ct, t, acc.Pop.C2, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3, acc.F2.C2, acc.F2.C3,
            acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
    }

    static void RowScores(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> m, Row r, int cls, int ct, int t, int pop,
        int x00, int x01, int x10, int x11, int x20, int x21, int x30, int x31, int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        if (cls < 0) return;
        int k = ct * 64 + 2 * t;
        long o = (long)r.N * p.OutSample + ((long)r.Y * p.OutW + r.X) * p.K + k;
        Score(p, outScores, m, cls, o, k, pop, x00, x01);
        Score(p, outScores, m, cls + 8, o + 8, k + 8, pop, x10, x11);
        Score(p, outScores, m, cls + 16, o + 16, k + 16, pop, x20, x21);
        Score(p, outScores, m, cls + 24, o + 24, k + 24, pop, x30, x31);
        Score(p, outScores, m, cls + 32, o + 32, k + 32, pop, x40, x41);
        Score(p, outScores, m, cls + 40, o + 40, k + 40, pop, x50, x51);
        Score(p, outScores, m, cls + 48, o + 48, k + 48, pop, x60, x61);
        Score(p, outScores, m, cls + 56, o + 56, k + 56, pop, x70, x71);
    }

    static void Score(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> m, int cls, long o, int k, int pop, int x0, int x1)
    {
        if (k < p.K) outScores[o] = m[p.ValueOffset + cls] - 2 * pop + 4 * x0;
        if (k + 1 < p.K) outScores[o + 1] = m[p.ValueOffset + cls + 1] - 2 * pop + 4 * x1;
    }
}
