using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>The device code of a tensor-core stage (see <see cref="GpuFusedMma"/>): item walk, A/B fragment loads, MMAs,
/// split reductions through shared memory. The epilogue is in GpuFusedMmaEpilogue.cs.</summary>
public static partial class GpuFusedMma
{
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
            acc.Pop.C0 += GpuPopc.Count(cur.A0) + GpuPopc.Count(cur.A2);
            acc.Pop.C2 += GpuPopc.Count(cur.A1) + GpuPopc.Count(cur.A3);
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
        LoadB(ref f, w, wb + (long)s * 256);
        return f;
    }

    /// <summary>The step's B fragments of the 8 n-tiles (lane-interleaved, 32 ulongs apart from <paramref name="b"/>),
    /// for the bits and the image products alike.</summary>
    static void LoadB(ref StepFragments f, ArrayView<ulong> w, long b)
    {
        f.B0 = w[b];
        f.B1 = w[b + 32];
        f.B2 = w[b + 64];
        f.B3 = w[b + 96];
        f.B4 = w[b + 128];
        f.B5 = w[b + 160];
        f.B6 = w[b + 192];
        f.B7 = w[b + 224];
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
            LoadB(ref f, w, wb + (long)s * 256);
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
}
