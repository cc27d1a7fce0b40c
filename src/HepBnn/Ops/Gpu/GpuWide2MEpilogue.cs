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
        _out = WideBitsEpilogue.PooledOutput(p, rows);
    }

    /// <summary>Row g of this lane's warp: 32 rows per warp.</summary>
    public static int FirstRow() => (Group.IdxX >> 5) * 32 + ((Group.IdxX & 31) >> 2);

    /// <summary>Stores channel tile <paramref name="tile"/> of the group's pooled outputs from the warp's two m16 tiles
    /// (<paramref name="lo"/>: rows 0–15 of the warp, <paramref name="hi"/>: rows 16–31); every thread calls it (it waits for
    /// the group once), and a caller storing several tiles waits for the group between them.</summary>
    public readonly void Store(GpuBlockParams p, ArrayView<ulong> outWords, ArrayView<ThresholdPair> pairs, TileRows rows, int tile,
        ulong andMask, ref MmaTile8 lo, ref MmaTile8 hi, bool rowView = false)
    {
        int t = Group.IdxX & 3, r = FirstRow();
        uint m0 = 1u << (2 * t), m1 = m0 << 1;
        // Widened once per row: 64-bit indices let the row's 8 loads fold into immediate offsets.
        ulong b0 = RowBits(pairs, (long)(_pair0 + tile * 32), ref lo, m0, m1, rowB: false, rowView);
        ulong b1 = RowBits(pairs, (long)(_pair1 + tile * 32), ref lo, m0, m1, rowB: true, rowView);
        ulong b2 = RowBits(pairs, (long)(_pair2 + tile * 32), ref hi, m0, m1, rowB: false, rowView);
        ulong b3 = RowBits(pairs, (long)(_pair3 + tile * 32), ref hi, m0, m1, rowB: true, rowView);
        if (t == 0)
        {
            rows.Bits[r] = b0;
            rows.Bits[r + 8] = b1;
            rows.Bits[r + 16] = b2;
            rows.Bits[r + 24] = b3;
        }
        Group.Barrier();

        if (_out >= 0) outWords[_out + tile] = WideBitsEpilogue.Pooled(p, rows, andMask); // no early return: callers wait for the group after this
    }

    /// <summary>The 64 bits of row g (<paramref name="rowB"/> false: accumulators C0, C1) or row g+8 (true: C2, C3) of an
    /// m16 tile, ORed over the row's 4 lanes; <paramref name="rowB"/> is a constant at each call.
    /// <paramref name="rowView"/> (a constant per kernel): the 8 loads index a view of the row's pairs with constants,
    /// so their addresses are immediate offsets from one base (the lean kernels); else 64-bit indices a, a + 4, ….</summary>
    internal static ulong RowBits(ArrayView<ThresholdPair> pairs, long a, ref MmaTile8 acc, uint m0, uint m1, bool rowB, bool rowView = false)
    {
        int pop = rowB ? acc.Pop.C2 : acc.Pop.C0;
        var row = rowView ? pairs.SubView(a, 29) : pairs;
        long i = rowView ? 0 : a;
        uint low = Pair(row[i], pop, acc.F0, m0, m1, rowB)
                   | Pair(row[i + 4], pop, acc.F1, m0 << 8, m1 << 8, rowB)
                   | Pair(row[i + 8], pop, acc.F2, m0 << 16, m1 << 16, rowB)
                   | Pair(row[i + 12], pop, acc.F3, m0 << 24, m1 << 24, rowB);
        uint high = Pair(row[i + 16], pop, acc.F4, m0, m1, rowB)
                    | Pair(row[i + 20], pop, acc.F5, m0 << 8, m1 << 8, rowB)
                    | Pair(row[i + 24], pop, acc.F6, m0 << 16, m1 << 16, rowB)
                    | Pair(row[i + 28], pop, acc.F7, m0 << 24, m1 << 24, rowB);
        return WideBitsEpilogue.OrQuad(low) | (ulong)WideBitsEpilogue.OrQuad(high) << 32;
    }

    static uint Pair(ThresholdPair th, int pop, MmaAccumulator f, uint m0, uint m1, bool rowB) =>
        rowB ? WideBitsEpilogue.Pair(th, pop, f.C2, f.C3, m0, m1) : WideBitsEpilogue.Pair(th, pop, f.C0, f.C1, m0, m1);
}
