using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The patch gather of <see cref="GpuTensorCoreWide2MRowPop"/>: one thread per row (64-thread groups, 64 rows) that also
/// counts the row's popcount from the words it loads, so no second pass over the stage counts them. Same stage contents
/// as <see cref="GpuWideRowGather"/> (zeros for taps outside the input, empty rows and the words past the patch).
/// Why (Nsight Compute, docs/results/h200-ncu4/call1, VGG7 b256 conv2 under 2m-r128-lean): the preamble took 42% of
/// the warp-stall samples and ~1,265 SASS instructions per warp, of them ~126 for the group's table fill (two integer
/// divisions per entry), ~476 for the row gather (20 per word: shared table load, bounds checks on a 12-word batch's
/// overrun) and ~210 for the POPC pass over the stage (8 shared loads, 8 POPC and 2 quad shuffles per step). Here the
/// table (each patch word's offset from the window's corner and the mask bits it needs) is built once at set-up and read
/// from the block's constants (the same entry for every lane: one broadcast load), the thread's own window (base and
/// valid taps) stays in registers (no shared bases/masks, no barrier before the gather), the words go 8 at a time (a
/// step is 4 words: no overrun to check) and each is counted with one 64-bit POPC.
/// </summary>
public static class GpuWideGatherCount
{
    /// <summary>The table for the last 2·<see cref="Words"/> ints of the block's constants: (offset, needed mask bits) per
    /// patch word — offset (ky·InW + kx)·InWords + word from the window's corner, bits 16 + ky and kx; past the patch
    /// offset 0 and bit 31 (never set in a mask, so the word is zero).</summary>
    public static int[] Table(GpuBlockParams p)
    {
        int words = Words(p);
        var table = new int[2 * words];
        for (int kw = 0; kw < words; kw++)
        {
            int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
            bool inPatch = kw < p.KWords;
            table[2 * kw] = inPatch ? (ky * p.InW + kx) * p.InWords + wd : 0;
            table[2 * kw + 1] = inPatch ? 1 << (16 + ky) | 1 << kx : int.MinValue;
        }
        return table;
    }

    /// <summary>Patch words staged per row: whole 256-bit MMA steps.</summary>
    public static int Words(GpuBlockParams p) => p.KSteps * 4;

    /// <summary>Gathers row <c>Group.IdxX</c>'s patch into the stage (row r at r · RowStride / 2 64-bit words) and returns
    /// its popcount. The table is the last 2·<see cref="Words"/> ints of <paramref name="meta"/> (an even offset: 8-byte
    /// entries). Every thread of a 64-thread group calls it after the group's rows are set.</summary>
    public static int Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, ArrayView<int> meta, TileRows rows)
    {
        int r = Group.IdxX, words = Words(p);
        int n = rows.N[r], iy0 = rows.Y[r] * p.Stride - p.Pad, ix0 = rows.X[r] * p.Stride - p.Pad;
        long b = (long)(n < 0 ? 0 : n) * p.InSample + ((long)iy0 * p.InW + ix0) * p.InWords;
        int m = n < 0 ? 0 : GpuTensorCoreWide.Inside(iy0, p.KH, p.InH) << 16 | GpuTensorCoreWide.Inside(ix0, p.KW, p.InW);
        var table = meta.SubView(meta.Length - 2 * words, 2 * words).Cast<long>();
        var row = stage.SubView((long)r * (p.RowStride >> 1), p.RowStride >> 1);
        int pop = 0, k = 0;
        for (; k + 8 <= words; k += 8)
        {
            // Views at the batch's first word: the 8 table loads and stage stores at immediate offsets from one base
            // (32-bit k + i widened per load would cost an add and a multiply each).
            var t = table.SubView(k, 8);
            var s = row.SubView(k, 8);
            ulong v0 = Word(input, t, b, m, 0), v1 = Word(input, t, b, m, 1);
            ulong v2 = Word(input, t, b, m, 2), v3 = Word(input, t, b, m, 3);
            ulong v4 = Word(input, t, b, m, 4), v5 = Word(input, t, b, m, 5);
            ulong v6 = Word(input, t, b, m, 6), v7 = Word(input, t, b, m, 7);
            s[0] = v0;
            s[1] = v1;
            s[2] = v2;
            s[3] = v3;
            s[4] = v4;
            s[5] = v5;
            s[6] = v6;
            s[7] = v7;
            pop += GpuPopc.Count(v0) + GpuPopc.Count(v1) + GpuPopc.Count(v2) + GpuPopc.Count(v3)
                   + GpuPopc.Count(v4) + GpuPopc.Count(v5) + GpuPopc.Count(v6) + GpuPopc.Count(v7);
        }
        if (k < words) // an odd step count: its last step's 4 words
        {
            var t = table.SubView(k, 4);
            var s = row.SubView(k, 4);
            ulong v0 = Word(input, t, b, m, 0), v1 = Word(input, t, b, m, 1);
            ulong v2 = Word(input, t, b, m, 2), v3 = Word(input, t, b, m, 3);
            s[0] = v0;
            s[1] = v1;
            s[2] = v2;
            s[3] = v3;
            pop += GpuPopc.Count(v0) + GpuPopc.Count(v1) + GpuPopc.Count(v2) + GpuPopc.Count(v3);
        }
        return pop;
    }

    /// <summary>Word kw of the row whose window starts at <paramref name="b"/> with valid taps <paramref name="m"/>, or 0;
    /// branch-free (the index masked to word 0), so a batch's 8 loads stay in flight together.</summary>
    static ulong Word(ArrayView<ulong> input, ArrayView<long> table, long b, int m, int kw)
    {
        long e = table[kw];
        int need = (int)(e >> 32);
        long bad = (m & need) == need ? 0L : -1L;
        return input[(b + (int)e) & ~bad] & ~(ulong)bad;
    }
}
