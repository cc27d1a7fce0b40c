using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The wide kernels' patch gather with one thread per row (and per part of the row's words where a group has 128
/// threads for its 64 rows): the row's window base and valid-tap mask stay in registers, each word's input offset and
/// the mask bits it needs come from a table the group fills once, and a thread issues 12 loads before their stores.
/// Why: the column-per-lane gather (<see cref="GpuTensorCoreWide2M.StagePatches32"/>) reads the row's base and mask
/// from shared memory and decodes them for every word (25 SASS instructions per word), and leaves lanes idle when the
/// patch is not a multiple of 32 words: VGG7's conv4 (36 words) ran a second, 4-lane pass of the same ~800-instruction
/// loop, ~24% of the kernel's instructions (docs/results/h200-mma31, call 1). Same stage contents: zeros for taps
/// outside the input, empty rows and the words past the patch.
/// </summary>
public static class GpuWideRowGather
{
    /// <summary>Words a thread loads before storing them.</summary>
    public const int Batch = 12;
    /// <summary>Table entries: the largest patch plus a last batch's overrun for two parts.</summary>
    public const int TableWords = GpuTensorCoreWide.MaxPatchWords + 2 * Batch;

    /// <summary>Entry kw: the word's offset from the window's corner (low 32 bits) and the mask bits it needs (high 32
    /// bits: kernel row bit 16 + ky and column bit kx; bit 31, never set in a mask, past the patch). Every thread of the
    /// group calls it; the caller waits for the group before <see cref="Stage"/>.</summary>
    public static void FillTable(GpuBlockParams p, ArrayView<long> table)
    {
        for (int kw = Group.IdxX; kw < TableWords; kw += Group.DimX)
        {
            int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
            bool inPatch = kw < p.KWords;
            int off = inPatch ? (ky * p.InW + kx) * p.InWords + wd : 0;
            int need = inPatch ? 1 << (16 + ky) | 1 << kx : int.MinValue;
            table[kw] = (long)need << 32 | (uint)off;
        }
    }

    /// <summary>The group's 64 rows' patches into the stage: thread q gathers row q mod 64, words q / 64, + parts, …
    /// (parts = threads / 64), <see cref="Batch"/> at a time.</summary>
    public static void Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, ArrayView<long> bases, ArrayView<int> masks,
        ArrayView<long> table)
    {
        int r = Group.IdxX & (TileRows.MaxRows - 1), part = Group.IdxX / TileRows.MaxRows, parts = Group.DimX / TileRows.MaxRows;
        int words = p.KSteps * 4, stride = p.RowStride >> 1;
        long b = bases[r];
        int m = masks[r];
        var row = stage.SubView((long)r * stride, stride);
        for (int k = part; k < words; k += Batch * parts)
        {
            ulong v0 = Word(input, table, b, m, k), v1 = Word(input, table, b, m, k + parts);
            ulong v2 = Word(input, table, b, m, k + 2 * parts), v3 = Word(input, table, b, m, k + 3 * parts);
            ulong v4 = Word(input, table, b, m, k + 4 * parts), v5 = Word(input, table, b, m, k + 5 * parts);
            ulong v6 = Word(input, table, b, m, k + 6 * parts), v7 = Word(input, table, b, m, k + 7 * parts);
            ulong v8 = Word(input, table, b, m, k + 8 * parts), v9 = Word(input, table, b, m, k + 9 * parts);
            ulong v10 = Word(input, table, b, m, k + 10 * parts), v11 = Word(input, table, b, m, k + 11 * parts);
            Put(row, k, words, v0);
            Put(row, k + parts, words, v1);
            Put(row, k + 2 * parts, words, v2);
            Put(row, k + 3 * parts, words, v3);
            Put(row, k + 4 * parts, words, v4);
            Put(row, k + 5 * parts, words, v5);
            Put(row, k + 6 * parts, words, v6);
            Put(row, k + 7 * parts, words, v7);
            Put(row, k + 8 * parts, words, v8);
            Put(row, k + 9 * parts, words, v9);
            Put(row, k + 10 * parts, words, v10);
            Put(row, k + 11 * parts, words, v11);
        }
    }

    /// <summary>Word kw of the row whose window starts at <paramref name="b"/> with valid taps <paramref name="m"/>, or 0;
    /// branch-free (the index masked to word 0), so the batch's loads stay in flight together.</summary>
    static ulong Word(ArrayView<ulong> input, ArrayView<long> table, long b, int m, int kw)
    {
        long e = table[kw];
        int need = (int)(e >> 32);
        long bad = (m & need) == need ? 0L : -1L;
        return input[(b + (int)e) & ~bad] & ~(ulong)bad;
    }

    /// <summary>Stores word kw unless it lies past the row's padded patch (a last batch's overrun).</summary>
    static void Put(ArrayView<ulong> row, int kw, int words, ulong v)
    {
        if (kw < words) row[kw] = v;
    }
}
