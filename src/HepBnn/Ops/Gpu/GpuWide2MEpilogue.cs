using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The bits epilogue of <see cref="GpuTensorCoreWide2M"/>: <see cref="WideBitsEpilogue"/>'s thresholds, masks and pooling
/// for a warp of 32 rows (two m16 tiles): lane (g, t) of warp w holds rows 32w + g, +8, +16, +24. The group has one
/// thread per row, so thread q pools output q as in the wide epilogue (TilePooled = rows / Pool²).
/// </summary>
public struct Wide2MBitsEpilogue
{
    int _pair0, _pair1, _pair2, _pair3; // this lane's pair index for tile 0, n-tile 0, rows g, g+8, g+16, g+24 (32-bit:
                                        // they stay live through the product, and the meta array's indices are ints)
    long _out;                           // word 0 of this thread's pooled output, −1 when it has none

    public Wide2MBitsEpilogue(GpuBlockParams p, ArrayView<int> meta, TileRows rows)
    {
        int r = FirstRow(), t = Group.IdxX & 3;
        _pair0 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r) + t;
        _pair1 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r + 8) + t;
        _pair2 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r + 16) + t;
        _pair3 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r + 24) + t;
        int q = Group.IdxX, first = q * p.Pool * p.Pool;
        _out = -1;
        if (q < p.TilePooled && rows.N[first] >= 0)
        {
            int py = rows.Y[first] / p.PoolStride, px = rows.X[first] / p.PoolStride;
            _out = (long)rows.N[first] * p.OutSample + ((long)py * p.OutW + px) * p.OutWords;
        }
    }

    /// <summary>Row g of this lane's warp: 32 rows per warp.</summary>
    public static int FirstRow() => (Group.IdxX >> 5) * 32 + ((Group.IdxX & 31) >> 2);

    /// <summary>Stores channel tile <paramref name="tile"/> of the group's pooled outputs from the warp's two m16 tiles
    /// (<paramref name="lo"/>: rows 0–15 of the warp, <paramref name="hi"/>: rows 16–31); every thread calls it (it waits for
    /// the group once), and a caller storing several tiles waits for the group between them.</summary>
    public readonly void Store(GpuBlockParams p, ArrayView<ulong> outWords, ArrayView<ThresholdPair> pairs, TileRows rows, int tile,
        ulong andMask, ref MmaTile8 lo, ref MmaTile8 hi)
    {
        int t = Group.IdxX & 3, r = FirstRow();
        uint m0 = 1u << (2 * t), m1 = m0 << 1;
        // Widened once per row: 64-bit indices let the row's 8 loads fold into immediate offsets.
        ulong b0 = RowBitsA(pairs, (long)(_pair0 + tile * 32), ref lo, m0, m1);
        ulong b1 = RowBitsB(pairs, (long)(_pair1 + tile * 32), ref lo, m0, m1);
        ulong b2 = RowBitsA(pairs, (long)(_pair2 + tile * 32), ref hi, m0, m1);
        ulong b3 = RowBitsB(pairs, (long)(_pair3 + tile * 32), ref hi, m0, m1);
        if (t == 0)
        {
            rows.Bits[r] = b0;
            rows.Bits[r + 8] = b1;
            rows.Bits[r + 16] = b2;
            rows.Bits[r + 24] = b3;
        }
        Group.Barrier();

        if (_out >= 0) // no early return: callers wait for the group after this
        {
            int w2 = p.Pool * p.Pool, q = Group.IdxX * w2;
            ulong any = 0, all = ~0UL;
            for (int i = 0; i < w2; i++)
            {
                ulong v = rows.Bits[q + i];
                any |= v;
                all &= v;
            }
            outWords[_out + tile] = (all & andMask) | (any & ~andMask);
        }
    }

    /// <summary>The 64 bits of row g of an m16 tile (accumulators C0, C1), ORed over the row's 4 lanes.</summary>
    static ulong RowBitsA(ArrayView<ThresholdPair> pairs, long a, ref MmaTile8 acc, uint m0, uint m1)
    {
        int pop = acc.Pop.C0;
        uint low = WideBitsEpilogue.Pair(pairs[a], pop, acc.F0.C0, acc.F0.C1, m0, m1)
                   | WideBitsEpilogue.Pair(pairs[a + 4], pop, acc.F1.C0, acc.F1.C1, m0 << 8, m1 << 8)
                   | WideBitsEpilogue.Pair(pairs[a + 8], pop, acc.F2.C0, acc.F2.C1, m0 << 16, m1 << 16)
                   | WideBitsEpilogue.Pair(pairs[a + 12], pop, acc.F3.C0, acc.F3.C1, m0 << 24, m1 << 24);
        uint high = WideBitsEpilogue.Pair(pairs[a + 16], pop, acc.F4.C0, acc.F4.C1, m0, m1)
                    | WideBitsEpilogue.Pair(pairs[a + 20], pop, acc.F5.C0, acc.F5.C1, m0 << 8, m1 << 8)
                    | WideBitsEpilogue.Pair(pairs[a + 24], pop, acc.F6.C0, acc.F6.C1, m0 << 16, m1 << 16)
                    | WideBitsEpilogue.Pair(pairs[a + 28], pop, acc.F7.C0, acc.F7.C1, m0 << 24, m1 << 24);
        return WideBitsEpilogue.OrQuad(low) | (ulong)WideBitsEpilogue.OrQuad(high) << 32;
    }

    /// <summary>The same for row g+8 (accumulators C2, C3).</summary>
    static ulong RowBitsB(ArrayView<ThresholdPair> pairs, long b, ref MmaTile8 acc, uint m0, uint m1)
    {
        int pop = acc.Pop.C2;
        uint low = WideBitsEpilogue.Pair(pairs[b], pop, acc.F0.C2, acc.F0.C3, m0, m1)
                   | WideBitsEpilogue.Pair(pairs[b + 4], pop, acc.F1.C2, acc.F1.C3, m0 << 8, m1 << 8)
                   | WideBitsEpilogue.Pair(pairs[b + 8], pop, acc.F2.C2, acc.F2.C3, m0 << 16, m1 << 16)
                   | WideBitsEpilogue.Pair(pairs[b + 12], pop, acc.F3.C2, acc.F3.C3, m0 << 24, m1 << 24);
        uint high = WideBitsEpilogue.Pair(pairs[b + 16], pop, acc.F4.C2, acc.F4.C3, m0, m1)
                    | WideBitsEpilogue.Pair(pairs[b + 20], pop, acc.F5.C2, acc.F5.C3, m0 << 8, m1 << 8)
                    | WideBitsEpilogue.Pair(pairs[b + 24], pop, acc.F6.C2, acc.F6.C3, m0 << 16, m1 << 16)
                    | WideBitsEpilogue.Pair(pairs[b + 28], pop, acc.F7.C2, acc.F7.C3, m0 << 24, m1 << 24);
        return WideBitsEpilogue.OrQuad(low) | (ulong)WideBitsEpilogue.OrQuad(high) << 32;
    }
}
