using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>Start values of two adjacent channels (2j, 2j+1) for one border class and row parity: the C0, C1 (or C2, C3)
/// of an accumulator, one 8-byte load.</summary>
public struct FoldPair
{
    public int C0, C1;
}

/// <summary>
/// The bits epilogue of <see cref="GpuTensorCoreWide2MFold"/>: <see cref="Wide2MBitsEpilogue"/>'s rows, masks, quad ORs and
/// pooling, with the thresholds folded into the accumulators' start values (<see cref="GpuWideFoldThresholds"/>):
/// <see cref="Start"/> loads each accumulator's start for the tile (instead of zeroing it), and each output bit is one
/// signed compare D ≤ h of the accumulator with half the row's popcount — no pop − V, no −2x per (row, channel), and half
/// the threshold bytes (8 per channel pair, not 16). Why: mma31's SASS counted ~4.5 instructions per (row, channel) and
/// lane in the old test, the largest cost outside the product (docs/results/h200-mma31).
/// </summary>
public struct Wide2MFoldEpilogue
{
    int _start0, _start1, _start2, _start3; // this lane's FoldPair index for tile 0, n-tile 0, rows g, g+8, g+16, g+24
    int _h0, _h1, _h2, _h3;                 // half the popcount of those rows
    long _out;                              // word 0 of this thread's pooled output, −1 when it has none

    /// <summary>After the rows' popcounts (<paramref name="popLo"/>: rows g, g+8 in C0, C2; <paramref name="popHi"/>:
    /// g+16, g+24); <paramref name="firstRow"/>: row g among the group's 64 (<see cref="Wide2MBitsEpilogue.FirstRow"/>;
    /// 4w's layout, <see cref="Wide4WBitsEpilogue.FirstRow"/>, in the 4w-fold variant measured in
    /// docs/results/h200-mma32), <paramref name="q"/>: the pooled output this thread stores.</summary>
    public Wide2MFoldEpilogue(GpuBlockParams p, ArrayView<int> meta, TileRows rows, MmaAccumulator popLo, MmaAccumulator popHi,
        int firstRow, int q)
    {
        int r = firstRow, t = Group.IdxX & 3;
        _start0 = StartBase(p, meta, rows, r, popLo.C0) + t;
        _start1 = StartBase(p, meta, rows, r + 8, popLo.C2) + t;
        _start2 = StartBase(p, meta, rows, r + 16, popHi.C0) + t;
        _start3 = StartBase(p, meta, rows, r + 24, popHi.C2) + t;
        _h0 = popLo.C0 >> 1;
        _h1 = popLo.C2 >> 1;
        _h2 = popHi.C0 >> 1;
        _h3 = popHi.C2 >> 1;
        _out = WideBitsEpilogue.PooledOutput(p, rows, q);
    }

    /// <summary>FoldPair index of (border class of row r, its popcount's parity, channel pair 0); class 0 for an empty row.</summary>
    static int StartBase(GpuBlockParams p, ArrayView<int> meta, TileRows rows, int r, int pop)
    {
        int cls = rows.N[r] < 0 ? 0 : meta[p.RowOfOffset + rows.Y[r]] * p.ColClasses + meta[p.ColOfOffset + rows.X[r]];
        return p.PairOffset / 2 + (cls * 2 + (pop & 1)) * (p.PaddedK / 2);
    }

    /// <summary>The accumulators of channel tile <paramref name="tile"/> at their start values.</summary>
    public readonly void Start(ArrayView<FoldPair> starts, int tile, out MmaTile8 lo, out MmaTile8 hi)
    {
        lo = default;
        hi = default;
        Load(starts, _start0 + tile * 32, _start1 + tile * 32, ref lo);
        Load(starts, _start2 + tile * 32, _start3 + tile * 32, ref hi);
    }

    /// <summary>Rows g (C0, C1) and g+8 (C2, C3) of the 8 n-tiles: channels 8f + 2t, +1 at pair 4f from each row's view
    /// (immediate offsets from one base per row).</summary>
    static void Load(ArrayView<FoldPair> starts, long a, long b, ref MmaTile8 acc)
    {
        var ra = starts.SubView(a, 29);
        var rb = starts.SubView(b, 29);
        acc.F0 = Pair(ra[0], rb[0]);
        acc.F1 = Pair(ra[4], rb[4]);
        acc.F2 = Pair(ra[8], rb[8]);
        acc.F3 = Pair(ra[12], rb[12]);
        acc.F4 = Pair(ra[16], rb[16]);
        acc.F5 = Pair(ra[20], rb[20]);
        acc.F6 = Pair(ra[24], rb[24]);
        acc.F7 = Pair(ra[28], rb[28]);
    }

    static MmaAccumulator Pair(FoldPair a, FoldPair b) => new() { C0 = a.C0, C1 = a.C1, C2 = b.C0, C3 = b.C1 };

    /// <summary>Stores channel tile <paramref name="tile"/> of the group's pooled outputs (as <see cref="Wide2MBitsEpilogue.Store"/>).</summary>
    public readonly void Store(GpuBlockParams p, ArrayView<ulong> outWords, TileRows rows, int tile, ulong andMask, ref MmaTile8 lo, ref MmaTile8 hi)
    {
        RowsBits(rows, Wide2MBitsEpilogue.FirstRow(), Group.IdxX & 3, ref lo, ref hi);
        Group.Barrier();

        if (_out >= 0) outWords[_out + tile] = WideBitsEpilogue.Pooled(p, rows, andMask); // no early return: callers wait for the group after this
    }

    /// <summary>The bits of the lane's 4 rows (ORed over each row's 4 lanes) into the rows' bits at <paramref name="r"/>,
    /// r + 8, r + 16, r + 24, written by the lane with <paramref name="t"/> = 0 (−1: none).</summary>
    readonly void RowsBits(TileRows rows, int r, int t, ref MmaTile8 lo, ref MmaTile8 hi)
    {
        int lane = Group.IdxX & 3;
        uint m0 = 1u << (2 * lane), m1 = m0 << 1;
        ulong b0 = RowBits(ref lo, _h0, m0, m1, rowB: false);
        ulong b1 = RowBits(ref lo, _h1, m0, m1, rowB: true);
        ulong b2 = RowBits(ref hi, _h2, m0, m1, rowB: false);
        ulong b3 = RowBits(ref hi, _h3, m0, m1, rowB: true);
        if (t == 0)
        {
            rows.Bits[r] = b0;
            rows.Bits[r + 8] = b1;
            rows.Bits[r + 16] = b2;
            rows.Bits[r + 24] = b3;
        }
    }

    /// <summary>The 64 bits of row g (<paramref name="rowB"/> false: C0, C1) or g+8 (true: C2, C3), ORed over the row's 4 lanes.</summary>
    static ulong RowBits(ref MmaTile8 acc, int h, uint m0, uint m1, bool rowB)
    {
        uint low = Bits(acc.F0, h, m0, m1, rowB) | Bits(acc.F1, h, m0 << 8, m1 << 8, rowB)
                   | Bits(acc.F2, h, m0 << 16, m1 << 16, rowB) | Bits(acc.F3, h, m0 << 24, m1 << 24, rowB);
        uint high = Bits(acc.F4, h, m0, m1, rowB) | Bits(acc.F5, h, m0 << 8, m1 << 8, rowB)
                    | Bits(acc.F6, h, m0 << 16, m1 << 16, rowB) | Bits(acc.F7, h, m0 << 24, m1 << 24, rowB);
        return WideBitsEpilogue.OrQuad(low) | (ulong)WideBitsEpilogue.OrQuad(high) << 32;
    }

    static uint Bits(MmaAccumulator f, int h, uint m0, uint m1, bool rowB) => rowB
        ? (f.C2 <= h ? m0 : 0u) | (f.C3 <= h ? m1 : 0u)
        : (f.C0 <= h ? m0 : 0u) | (f.C1 <= h ? m1 : 0u);
}
