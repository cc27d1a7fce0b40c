using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>The thresholds of two adjacent channels (2j, 2j+1) in one border class, side by side so a lane reads the
/// pair it owns in one 16-byte load: the channel fires iff (uint)(popc(a) − 2·popc(a ∧ w) − V) ≤ (uint)S, i.e. the CPU
/// kernels' P − Lo within Span moved onto P − popc(w) (see <see cref="GpuTensorCore.Meta"/>).</summary>
public struct ThresholdPair
{
    public int V0, V1, S0, S1;
}

/// <summary>
/// The bits epilogue of <see cref="GpuTensorCoreWide"/>: the same outputs as <see cref="BitsEpilogue"/> with fewer
/// instructions per output bit, since the epilogue, not the MMAs, held most of a conv2 tile's issue slots:
/// one 16-byte <see cref="ThresholdPair"/> load per (row, channel pair) instead of four 4-byte loads with their index
/// math (64-bit indices, so the 8 loads of a row fold into immediate offsets); each bit set by a precomputed lane mask
/// into 32-bit halves instead of 64-bit select/shift/or; no image-input test; and each thread's pooled output located
/// once per group (one 64-bit division there, none per tile). Empty rows read class 0's thresholds: their bits are
/// never pooled (a pooled output is stored only when its whole window lies in the batch).
/// </summary>
public struct WideBitsEpilogue
{
    long _pairA, _pairB; // this lane's pair index for tile 0, n-tile 0, rows g and g+8
    long _out;           // word 0 of this thread's pooled output, −1 when it has none

    public WideBitsEpilogue(GpuBlockParams p, ArrayView<int> meta, TileRows rows)
    {
        int r = (Group.IdxX >> 5) * 16 + ((Group.IdxX & 31) >> 2), t = Group.IdxX & 3;
        _pairA = PairBase(p, meta, rows, r) + t;
        _pairB = PairBase(p, meta, rows, r + 8) + t;
        _out = PooledOutput(p, rows);
    }

    /// <summary>Word 0 of this thread's pooled output, −1 when it has none. The pooled output of thread q: its window's
    /// first row (conv row py·PoolStride, column px·PoolStride) is row q·Pool², filled by the rows preamble; no 64-bit
    /// division here.</summary>
    internal static long PooledOutput(GpuBlockParams p, TileRows rows) => PooledOutput(p, rows, Group.IdxX);

    /// <summary>Word 0 of pooled output <paramref name="q"/> of the group's tile, −1 when it has none.</summary>
    internal static long PooledOutput(GpuBlockParams p, TileRows rows, int q)
    {
        int first = q * p.Pool * p.Pool;
        long word = -1;
        if (q < p.TilePooled && rows.N[first] >= 0)
        {
            int py = rows.Y[first] / p.PoolStride, px = rows.X[first] / p.PoolStride;
            word = (long)rows.N[first] * p.OutSample + ((long)py * p.OutW + px) * p.OutWords;
        }
        return word;
    }

    /// <summary>Index of (border class of row r, channel pair 0) among the pairs; class 0 for an empty row.</summary>
    internal static long PairBase(GpuBlockParams p, ArrayView<int> meta, TileRows rows, int r)
    {
        int cls = rows.N[r] < 0 ? 0 : meta[p.RowOfOffset + rows.Y[r]] * p.ColClasses + meta[p.ColOfOffset + rows.X[r]];
        return p.PairOffset / 4 + (long)cls * (p.PaddedK / 2);
    }

    /// <summary>Stores channel tile <paramref name="tile"/> of the group's pooled outputs; every thread calls it (it waits
    /// for the group once), and a caller storing several tiles waits for the group between them.</summary>
    public readonly void Store(GpuBlockParams p, ArrayView<ulong> outWords, ArrayView<ThresholdPair> pairs, TileRows rows, int tile,
        ulong andMask, ref MmaTile8 acc)
    {
        int t = Group.IdxX & 3, r = (Group.IdxX >> 5) * 16 + ((Group.IdxX & 31) >> 2);
        uint m0 = 1u << (2 * t), m1 = m0 << 1;
        long a = _pairA + tile * 32, b = _pairB + tile * 32;
        int popA = acc.Pop.C0, popB = acc.Pop.C2;
        // Channels 8f + 2t, +1 of the tile: f = 0..3 in the low half of the word, 4..7 in the high half.
        uint loA = Pair(pairs[a], popA, acc.F0.C0, acc.F0.C1, m0, m1) | Pair(pairs[a + 4], popA, acc.F1.C0, acc.F1.C1, m0 << 8, m1 << 8)
                 | Pair(pairs[a + 8], popA, acc.F2.C0, acc.F2.C1, m0 << 16, m1 << 16) | Pair(pairs[a + 12], popA, acc.F3.C0, acc.F3.C1, m0 << 24, m1 << 24);
        uint hiA = Pair(pairs[a + 16], popA, acc.F4.C0, acc.F4.C1, m0, m1) | Pair(pairs[a + 20], popA, acc.F5.C0, acc.F5.C1, m0 << 8, m1 << 8)
                 | Pair(pairs[a + 24], popA, acc.F6.C0, acc.F6.C1, m0 << 16, m1 << 16) | Pair(pairs[a + 28], popA, acc.F7.C0, acc.F7.C1, m0 << 24, m1 << 24);
        uint loB = Pair(pairs[b], popB, acc.F0.C2, acc.F0.C3, m0, m1) | Pair(pairs[b + 4], popB, acc.F1.C2, acc.F1.C3, m0 << 8, m1 << 8)
                 | Pair(pairs[b + 8], popB, acc.F2.C2, acc.F2.C3, m0 << 16, m1 << 16) | Pair(pairs[b + 12], popB, acc.F3.C2, acc.F3.C3, m0 << 24, m1 << 24);
        uint hiB = Pair(pairs[b + 16], popB, acc.F4.C2, acc.F4.C3, m0, m1) | Pair(pairs[b + 20], popB, acc.F5.C2, acc.F5.C3, m0 << 8, m1 << 8)
                 | Pair(pairs[b + 24], popB, acc.F6.C2, acc.F6.C3, m0 << 16, m1 << 16) | Pair(pairs[b + 28], popB, acc.F7.C2, acc.F7.C3, m0 << 24, m1 << 24);
        // The 4 lanes of a row hold interleaved channel pairs: OR their bits together.
        loA = OrQuad(loA);
        hiA = OrQuad(hiA);
        loB = OrQuad(loB);
        hiB = OrQuad(hiB);
        if (t == 0)
        {
            rows.Bits[r] = loA | (ulong)hiA << 32;
            rows.Bits[r + 8] = loB | (ulong)hiB << 32;
        }
        Group.Barrier();

        if (_out >= 0) outWords[_out + tile] = Pooled(p, rows, andMask); // no early return: callers wait for the group after this
    }

    /// <summary>This thread's pooled word from its window's row bits: AND where <paramref name="andMask"/> is set, else OR.</summary>
    internal static ulong Pooled(GpuBlockParams p, TileRows rows, ulong andMask)
    {
        int w2 = p.Pool * p.Pool;
        return Pooled(rows, Group.IdxX * w2, w2, andMask);
    }

    /// <summary>The pooled word of the window of <paramref name="w2"/> rows whose first row's bits are at
    /// <paramref name="q"/> in the rows' bits.</summary>
    internal static ulong Pooled(TileRows rows, int q, int w2, ulong andMask)
    {
        ulong any = 0, all = ~0UL;
        for (int i = 0; i < w2; i++)
        {
            ulong v = rows.Bits[q + i];
            any |= v;
            all &= v;
        }
        return (all & andMask) | (any & ~andMask);
    }

    /// <summary>Mask bits <paramref name="m0"/>, <paramref name="m1"/> for the two channels that fire.</summary>
    internal static uint Pair(ThresholdPair th, int pop, int x0, int x1, uint m0, uint m1) =>
        ((uint)(pop - th.V0 - 2 * x0) <= (uint)th.S0 ? m0 : 0u) | ((uint)(pop - th.V1 - 2 * x1) <= (uint)th.S1 ? m1 : 0u);

    internal static uint OrQuad(uint v)
    {
        v |= Warp.ShuffleXor(v, 1);
        return v | Warp.ShuffleXor(v, 2);
    }
}
