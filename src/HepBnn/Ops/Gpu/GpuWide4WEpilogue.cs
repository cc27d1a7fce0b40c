using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The bits epilogue of <see cref="GpuTensorCoreWide4W"/>: <see cref="Wide2MBitsEpilogue"/>'s thresholds and masks for a
/// group whose warps 0–1 hold one channel tile of the 64 rows and warps 2–3 the next. Each half writes its rows' bits
/// into its own 64 entries of the rows' bits (128 in all), and thread 64·h + q pools output q of half h's tile (a group of
/// 64 threads has half 0 only).
/// </summary>
public struct Wide4WBitsEpilogue
{
    int _pair0, _pair1, _pair2, _pair3; // this lane's pair index for tile 0, n-tile 0, rows g, g+8, g+16, g+24
    long _out;                           // word 0 of this thread's pooled output (q = thread mod 64), −1 when it has none

    public Wide4WBitsEpilogue(GpuBlockParams p, ArrayView<int> meta, TileRows rows)
    {
        int r = FirstRow(), t = Group.IdxX & 3;
        _pair0 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r) + t;
        _pair1 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r + 8) + t;
        _pair2 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r + 16) + t;
        _pair3 = (int)WideBitsEpilogue.PairBase(p, meta, rows, r + 24) + t;
        _out = WideBitsEpilogue.PooledOutput(p, rows, Group.IdxX & 63);
    }

    /// <summary>Row g of this lane's warp among the group's 64 rows: warps 0 and 2 rows 0–31, warps 1 and 3 rows 32–63.</summary>
    public static int FirstRow() => ((Group.IdxX >> 5) & 1) * 32 + ((Group.IdxX & 31) >> 2);

    /// <summary>Stores channel tile <paramref name="tile"/> (this thread's half's tile of the pair; none at or past
    /// <paramref name="end"/>) of the group's pooled outputs from the product of tile <paramref name="work"/> (the same
    /// tile, or another valid one for an idle half, whose thresholds are then read and its bits dropped: the shuffles
    /// stay outside any branch on the thread index); every thread calls it (it waits for the group once), and a caller
    /// storing several pairs waits for the group between them.</summary>
    public readonly void Store(GpuBlockParams p, ArrayView<ulong> outWords, ArrayView<ThresholdPair> pairs, ArrayView<ulong> poolAnd,
        TileRows rows, int tile, int work, int end, ref MmaTile8 lo, ref MmaTile8 hi, bool rowView = false)
    {
        int half = Group.IdxX >> 6, t = Group.IdxX & 3, r = half * 64 + FirstRow();
        uint m0 = 1u << (2 * t), m1 = m0 << 1;
        ulong b0 = Wide2MBitsEpilogue.RowBits(pairs, (long)(_pair0 + work * 32), ref lo, m0, m1, rowB: false, rowView);
        ulong b1 = Wide2MBitsEpilogue.RowBits(pairs, (long)(_pair1 + work * 32), ref lo, m0, m1, rowB: true, rowView);
        ulong b2 = Wide2MBitsEpilogue.RowBits(pairs, (long)(_pair2 + work * 32), ref hi, m0, m1, rowB: false, rowView);
        ulong b3 = Wide2MBitsEpilogue.RowBits(pairs, (long)(_pair3 + work * 32), ref hi, m0, m1, rowB: true, rowView);
        if (t == 0 && tile < end)
        {
            rows.Bits[r] = b0;
            rows.Bits[r + 8] = b1;
            rows.Bits[r + 16] = b2;
            rows.Bits[r + 24] = b3;
        }
        Group.Barrier();

        if (_out >= 0 && tile < end) // no early return: callers wait for the group after this
        {
            int w2 = p.Pool * p.Pool;
            outWords[_out + tile] = WideBitsEpilogue.Pooled(rows, half * 64 + (Group.IdxX & 63) * w2, w2, poolAnd[tile]);
        }
    }
}
