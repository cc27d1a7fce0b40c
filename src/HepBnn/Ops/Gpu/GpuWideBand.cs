using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>Two 32-bit band offsets of one (MMA step, lane t): the A fragment's units t (registers a0, a1) and 4+t (a2,
/// a3), relative to a row's base in the band; one 8-byte shared load per step.</summary>
public struct BandOffsets
{
    public int A, B;
}

/// <summary>
/// The input band of <see cref="GpuTensorCoreWide2MBand"/>: a group's 64 rows are whole pooling windows of R pooled rows
/// × C pooled columns of one sample (C = min(OutW, 64 / Pool²), R = min(OutH, (64 / Pool²) / C)), so every patch they
/// read lies in one rectangle of the input — BH input rows × BW pixels with the halo, zeros for padding — which the group
/// loads once, coalesced, into shared memory (VGG7's conv2: 4 × 34 pixels × 2 words = 272 words, against 64 patches of 18
/// words = 1,152 gathered words). A row's patch unit u (32-bit) then lies at the row's base plus a per-unit offset that
/// depends only on u, so the MMA's A fragments are read from the band through a per-(step, lane) table of offsets and
/// no patch is copied. Band rows are <see cref="GpuBlockParams.RowStride"/> 32-bit units apart: the pitch, chosen at
/// set-up among BW·2·InWords … +30 as the one with the fewest shared-memory wavefronts over all the A loads
/// (<see cref="Wavefronts"/>), since the rows of a pooling window are a band row apart (conv2: pitch 144 ≡ 16 mod 32,
/// conflict-free; 136 would put the window's lower rows in the upper rows' banks).
/// Parameters (spare fields of <see cref="GpuBlockParams"/>): TileCols = C, TilePooled = R·C, RowStride = the pitch,
/// StageWords = the band's 64-bit words (BH · pitch / 2).
/// </summary>
public static class GpuWideBand
{
    /// <summary>Rows of a group (2 warps × 32).</summary>
    public const int Rows = TileRows.MaxRows;
    /// <summary>Largest MMA step count the offset table holds (3×3 taps × 4 words = 36 words = 9 steps), and its entries:
    /// one more step of zeros for the product's loads ahead.</summary>
    public const int MaxSteps = 9, TableEntries = 4 * (MaxSteps + 1);
    /// <summary>Band loads a thread issues before storing them.</summary>
    const int Batch = 8;

    /// <summary>Pooled columns (C) and rows (R) of a group's tile.</summary>
    public static (int Cols, int PooledRows) Tile(int outH, int outW, int pool)
    {
        int per = Rows / (pool * pool), cols = Math.Min(outW, per);
        return (cols, Math.Max(1, Math.Min(outH, per / cols)));
    }

    /// <summary>Input rows (BH) and pixels per row (BW) of a band, halo included (out parameters: device code too).</summary>
    public static void Extent(GpuBlockParams p, out int height, out int width)
    {
        int rowsPooled = p.TilePooled / p.TileCols;
        height = ((rowsPooled - 1) * p.PoolStride + p.Pool - 1) * p.Stride + p.KH;
        width = ((p.TileCols - 1) * p.PoolStride + p.Pool - 1) * p.Stride + p.KW;
    }

    /// <summary>Most 32-bit units a band of <paramref name="p"/> can take (the widest pitch <see cref="WithBand"/> tries),
    /// before the pitch is chosen: for refusals, without the wavefront search.</summary>
    public static int MostUnits(GpuBlockParams p)
    {
        var (cols, pooledRows) = Tile(p.OutH, p.OutW, p.Pool);
        p.TileCols = cols;
        p.TilePooled = cols * pooledRows;
        Extent(p, out int height, out int width);
        return height * (width * 2 * p.InWords + 30);
    }

    /// <summary>The band's fields of <paramref name="p"/> (after <see cref="GpuTensorCore.WithSteps"/>): tile, pitch, size.</summary>
    public static GpuBlockParams WithBand(GpuBlockParams p)
    {
        var (cols, pooledRows) = Tile(p.OutH, p.OutW, p.Pool);
        p.TileCols = cols;
        p.TilePooled = cols * pooledRows;
        Extent(p, out int height, out int width);
        int least = width * 2 * p.InWords, best = least;
        long fewest = long.MaxValue;
        for (int pitch = least; pitch <= least + 30; pitch += 2)
        {
            p.RowStride = pitch;
            long w = Wavefronts(p);
            if (w < fewest)
            {
                fewest = w;
                best = pitch;
            }
        }
        p.RowStride = best;
        p.StageWords = height * best / 2;
        return p;
    }

    /// <summary>32-bit units of a band: what <see cref="WithBand"/> allocates.</summary>
    public static int Units(GpuBlockParams p) => 2 * p.StageWords;

    /// <summary>Base (32-bit units) of the row at position <paramref name="win"/> of pooling window <paramref name="q"/>
    /// of the tile, relative to the band's origin.</summary>
    public static int RowBase(GpuBlockParams p, int q, int win)
    {
        int qy = q / p.TileCols, qx = q - qy * p.TileCols, dy = win / p.Pool, dx = win - dy * p.Pool;
        return (qy * p.PoolStride + dy) * p.Stride * p.RowStride + (qx * p.PoolStride + dx) * p.Stride * 2 * p.InWords;
    }

    /// <summary>Offset of patch unit <paramref name="u"/> (bits 32u … 32u+31 of the patch, [ky][kx][word] order) from a
    /// row's base; 0 past the patch (a unit there is read but never counted: the weights are zero there, and the rows'
    /// popcounts mask it, <see cref="Inside"/>).</summary>
    public static int UnitOffset(GpuBlockParams p, int u)
    {
        if (u >= 2 * p.KWords) return 0;
        int kw = u >> 1, tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
        return ky * p.RowStride + kx * 2 * p.InWords + 2 * wd + (u & 1);
    }

    /// <summary>All ones for a patch unit, 0 past the patch: the B fragment of the rows' popcounts.</summary>
    public static uint Inside(GpuBlockParams p, int u) => u < 2 * p.KWords ? ~0u : 0u;

    /// <summary>Shared-memory wavefronts of all of a group's A loads over one tile (2 warps × steps × 2 m16 tiles × 4
    /// registers, 32 lanes each; per load the most distinct addresses in one bank): the count the pitch minimises.
    /// Rows past the tile read at base 0, as in the kernel.</summary>
    public static long Wavefronts(GpuBlockParams p)
    {
        long total = 0;
        var addresses = new int[32];
        for (int warp = 0; warp < 2; warp++)
            for (int s = 0; s < p.KSteps; s++)
                for (int reg = 0; reg < 8; reg++) // m16 tile reg / 4, row g (+8 for reg & 1), unit t (+4 for reg & 2)
                {
                    for (int lane = 0; lane < 32; lane++)
                    {
                        int r = warp * 32 + (lane >> 2) + 8 * (reg & 1) + 16 * (reg >> 2), w2 = p.Pool * p.Pool, q = r / w2;
                        int b = q < p.TilePooled ? RowBase(p, q, r - q * w2) : 0;
                        addresses[lane] = b + UnitOffset(p, 8 * s + (lane & 3) + 4 * ((reg >> 1) & 1));
                    }
                    total += MostPerBank(addresses);
                }
        return total;
    }

    /// <summary>Wavefronts of one warp-wide 32-bit shared load: the most distinct addresses in one bank (lanes reading the
    /// same address share it).</summary>
    internal static int MostPerBank(int[] addresses)
    {
        Span<int> perBank = stackalloc int[32];
        int most = 0;
        for (int i = 0; i < addresses.Length; i++)
        {
            bool seen = false;
            for (int j = 0; j < i && !seen; j++) seen = addresses[j] == addresses[i];
            if (seen) continue;
            int bank = addresses[i] & 31;
            most = Math.Max(most, ++perBank[bank]);
        }
        return most;
    }

    /// <summary>The group's tile: sample, and first pooled row and column (device code; Grid.IdxX = (n · tilesY + ty) ·
    /// tilesX + tx).</summary>
    public static void TileOrigin(GpuBlockParams p, out int n, out int py0, out int px0) => TileOrigin(p, Grid.IdxX, out n, out py0, out px0);

    /// <summary>Tile <paramref name="g"/>'s sample, first pooled row and column (g = (n · tilesY + ty) · tilesX + tx).</summary>
    public static void TileOrigin(GpuBlockParams p, int g, out int n, out int py0, out int px0)
    {
        int rowsPooled = p.TilePooled / p.TileCols;
        int tilesX = (p.OutW + p.TileCols - 1) / p.TileCols, tilesY = (p.OutH + rowsPooled - 1) / rowsPooled;
        int rest = g / tilesX, tx = g - rest * tilesX;
        n = rest / tilesY;
        py0 = (rest - n * tilesY) * rowsPooled;
        px0 = tx * p.TileCols;
    }

    /// <summary>Groups of a launch: the tiles of every sample.</summary>
    public static int Groups(GpuBlockParams p, int batch)
    {
        int rowsPooled = p.TilePooled / p.TileCols;
        long tiles = (long)((p.OutW + p.TileCols - 1) / p.TileCols) * ((p.OutH + rowsPooled - 1) / rowsPooled) * batch;
        return checked((int)tiles);
    }

    /// <summary>Thread r's row (r &lt; 64): its sample (−1: none), conv row and column into the rows, and its base in the
    /// band into <paramref name="bases"/> (0 for an empty row). No wait: the caller waits for the group once after the
    /// band.</summary>
    public static void FillRow(GpuBlockParams p, TileRows rows, ArrayView<int> bases, int n, int py0, int px0)
    {
        int r = Group.IdxX, w2 = p.Pool * p.Pool, q = r / w2, win = r - q * w2;
        int qy = q / p.TileCols, qx = q - qy * p.TileCols, py = py0 + qy, px = px0 + qx;
        bool valid = q < p.TilePooled && py < p.OutH && px < p.OutW;
        int dy = win / p.Pool, dx = win - dy * p.Pool;
        rows.N[r] = valid ? n : -1;
        rows.Y[r] = valid ? py * p.PoolStride + dy : 0;
        rows.X[r] = valid ? px * p.PoolStride + dx : 0;
        bases[r] = valid ? RowBase(p, q, win) : 0;
    }

    /// <summary>The per-(step, lane t) offsets, steps 0 … KSteps (the last of zeros: the product's loads ahead).</summary>
    public static void FillOffsets(GpuBlockParams p, ArrayView<BandOffsets> table)
    {
        for (int i = Group.IdxX; i <= 4 * p.KSteps + 3; i += Group.DimX)
        {
            int u = 8 * (i >> 2) + (i & 3);
            table[i] = new BandOffsets { A = UnitOffset(p, u), B = UnitOffset(p, u + 4) };
        }
    }

    /// <summary>Loads the band of sample <paramref name="n"/> whose first pooled row and column are
    /// <paramref name="py0"/>, <paramref name="px0"/>: consecutive threads read consecutive input words of a band row
    /// (coalesced), <see cref="Batch"/> loads in flight before their stores; zeros outside the input.</summary>
    public static void Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> band, int n, int py0, int px0)
    {
        Extent(p, out int height, out int width);
        int rowWords = width * p.InWords, total = height * rowWords, inRow = p.InW * p.InWords;
        int iy0 = py0 * p.PoolStride * p.Stride - p.Pad, w0 = (px0 * p.PoolStride * p.Stride - p.Pad) * p.InWords;
        long sample = (long)n * p.InSample;
        int step = Group.DimX;
        for (int i = Group.IdxX; i < total; i += Batch * step)
        {
            ulong v0 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i, out int a0);
            ulong v1 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i + step, out int a1);
            ulong v2 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i + 2 * step, out int a2);
            ulong v3 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i + 3 * step, out int a3);
            ulong v4 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i + 4 * step, out int a4);
            ulong v5 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i + 5 * step, out int a5);
            ulong v6 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i + 6 * step, out int a6);
            ulong v7 = Word(p, input, sample, iy0, w0, inRow, rowWords, total, i + 7 * step, out int a7);
            Put(band, a0, v0);
            Put(band, a1, v1);
            Put(band, a2, v2);
            Put(band, a3, v3);
            Put(band, a4, v4);
            Put(band, a5, v5);
            Put(band, a6, v6);
            Put(band, a7, v7);
        }
    }

    /// <summary>Band word <paramref name="i"/> (band row i / rowWords, word i mod rowWords) from the input, or 0 outside it;
    /// branch-free (the index masked to word 0) so the batch's loads stay in flight together. <paramref name="at"/>: its
    /// place in the band (64-bit units of the pitch), −1 past the band.</summary>
    static ulong Word(GpuBlockParams p, ArrayView<ulong> input, long sample, int iy0, int w0, int inRow, int rowWords, int total, int i,
        out int at)
    {
        int by = i / rowWords, w = i - by * rowWords, iy = iy0 + by, gw = w0 + w;
        bool ok = (i < total) & ((uint)iy < (uint)p.InH) & ((uint)gw < (uint)inRow); // &, not &&: no branches around the loads
        long bad = ok ? 0L : -1L;
        at = i < total ? by * (p.RowStride >> 1) + w : -1;
        return input[(sample + (long)iy * inRow + gw) & ~bad] & ~(ulong)bad;
    }

    /// <summary><see cref="Stage"/> as asynchronous copies from the input into the band at 64-bit word
    /// <paramref name="buffer"/> of <paramref name="copy"/>'s shared memory: issued, not waited for (the caller commits, waits and barriers). Words outside the
    /// input copy zeros from word 0 of the sample.</summary>
    public static void StageAsync(GpuBlockParams p, GpuAsyncCopy copy, int buffer, int n, int py0, int px0)
    {
        Extent(p, out int height, out int width);
        int rowWords = width * p.InWords, total = height * rowWords, inRow = p.InW * p.InWords;
        int iy0 = py0 * p.PoolStride * p.Stride - p.Pad, w0 = (px0 * p.PoolStride * p.Stride - p.Pad) * p.InWords;
        long sample = (long)n * p.InSample;
        for (int i = Group.IdxX; i < total; i += Group.DimX)
        {
            // Word's indexing written out: a bool out parameter would pass through local memory as a byte that is then read
            // as 32 bits, and with that one mismatched local ptxas kept every inline-PTX operand local in memory (call 1).
            int by = i / rowWords, w = i - by * rowWords, iy = iy0 + by, gw = w0 + w;
            bool inside = ((uint)iy < (uint)p.InH) & ((uint)gw < (uint)inRow);
            copy.Copy8(buffer + by * (p.RowStride >> 1) + w, inside ? sample + (long)iy * inRow + gw : sample, inside);
        }
    }

    static void Put(ArrayView<ulong> band, int at, ulong v)
    {
        if (at >= 0) band[at] = v;
    }
}
