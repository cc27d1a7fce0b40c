using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The 8-bit image block of <see cref="GpuTensorCore"/> in one pass on the byte tensor cores
/// (<see cref="GpuMma.DotU8S8"/>: pixels as unsigned bytes, ±1 weights as signed bytes, exact integer sums). The rows,
/// tiles and fused epilogue are the binary kernel's (a group of 4 warps: 64 conv outputs × one 64-channel tile); the
/// reduction runs over the patch's kh·kw·C elements in the weights' [ky][kx][c] order, 32 per MMA step, each lane
/// gathering its 16 bytes of A straight from the image (zero for padding taps and past the patch — they add nothing,
/// as in the reference's raw sums). No pre-pass and no planes buffer: the first version wrote each patch as 8 bit
/// planes (8x the input) and ran 8 one-bit MMA passes over mostly padding.
/// </summary>
public static class GpuTensorCoreImage
{
    /// <summary>Weights as B fragments: [channel tile of 64][step][n-tile of 8][lane], lane (g, t) holding column
    /// 8·tile + g, bytes k = 32·step + 4t..4t+3 (low half) and 32·step + 16 + 4t.. (high half); zero past the patch and K.</summary>
    internal static ulong[] Fragments(Block block, GpuBlockParams p)
    {
        var w = block.ImageWeights!;
        int k = block.OutChannels, taps = block.KernelH * block.KernelW * block.InputShape.C, steps = p.KSteps, tiles = p.PaddedK / 64;
        var frag = new ulong[(long)tiles * steps * 8 * 32];
        for (int ct = 0; ct < tiles; ct++)
            for (int s = 0; s < steps; s++)
                for (int f = 0; f < 8; f++)
                    for (int lane = 0; lane < 32; lane++)
                    {
                        int ch = ct * 64 + f * 8 + (lane >> 2), t = lane & 3;
                        if (ch >= k) continue;
                        ulong lo = Bytes(w, (long)ch * taps, taps, 32 * s + 4 * t), hi = Bytes(w, (long)ch * taps, taps, 32 * s + 16 + 4 * t);
                        frag[(((long)ct * steps + s) * 8 + f) * 32 + lane] = lo | hi << 32;
                    }
        return frag;
    }

    static uint Bytes(sbyte[] w, long row, int taps, int e0)
    {
        uint v = 0;
        for (int j = 0; j < 4; j++)
            if (e0 + j < taps) v |= (uint)(byte)w[row + e0 + j] << (8 * j);
        return v;
    }

    /// <summary>The kernel (bits output; image blocks with scores are refused).</summary>
    public static void Kernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var epilogue = new BitsEpilogue(p, meta, rows);
        ulong andMask = poolAnd[Grid.IdxY];
        var acc = default(MmaTile8);
        Product(p, input, weights, rows, ref acc);
        epilogue.Store(p, outWords, meta, rows, Grid.IdxY, andMask, ref acc);
    }

    /// <summary>The warp's 16 rows × 64 channels: per 32-element step, 4 registers of A gathered per lane (rows g and g+8,
    /// elements 4t.. and 16+4t..), 8 byte MMAs against the step's fragments (coalesced 64-bit loads).</summary>
    static void Product(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> weights, TileRows rows, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        int taps = p.KH * p.KW * p.InC;
        int nA = rows.N[r], nB = rows.N[r + 8];
        int yA = rows.Y[r] * p.Stride - p.Pad, xA = rows.X[r] * p.Stride - p.Pad;
        int yB = rows.Y[r + 8] * p.Stride - p.Pad, xB = rows.X[r + 8] * p.Stride - p.Pad;
        long wb = (long)Grid.IdxY * p.KSteps * 256 + lane;
        for (int s = 0; s < p.KSteps; s++)
        {
            int e = 32 * s + 4 * t;
            uint a0 = 0, a1 = 0, a2 = 0, a3 = 0;
            for (int j = 0; j < 4; j++)
            {
                a0 |= Pixel(p, input, taps, nA, yA, xA, e + j) << (8 * j);
                a1 |= Pixel(p, input, taps, nB, yB, xB, e + j) << (8 * j);
                a2 |= Pixel(p, input, taps, nA, yA, xA, e + 16 + j) << (8 * j);
                a3 |= Pixel(p, input, taps, nB, yB, xB, e + 16 + j) << (8 * j);
            }
            Step(ref acc.F0, a0, a1, a2, a3, weights[wb]);
            Step(ref acc.F1, a0, a1, a2, a3, weights[wb + 32]);
            Step(ref acc.F2, a0, a1, a2, a3, weights[wb + 64]);
            Step(ref acc.F3, a0, a1, a2, a3, weights[wb + 96]);
            Step(ref acc.F4, a0, a1, a2, a3, weights[wb + 128]);
            Step(ref acc.F5, a0, a1, a2, a3, weights[wb + 160]);
            Step(ref acc.F6, a0, a1, a2, a3, weights[wb + 192]);
            Step(ref acc.F7, a0, a1, a2, a3, weights[wb + 224]);
            wb += 256;
        }
    }

    /// <summary>Patch element e of the row whose window starts at (iy0, ix0) in sample n: its pixel byte, or 0 for an
    /// empty row (n &lt; 0), a padding tap, or e past the patch.</summary>
    static uint Pixel(GpuBlockParams p, ArrayView<ulong> input, int taps, int n, int iy0, int ix0, int e)
    {
        if (n < 0 || e >= taps) return 0;
        int tap = e / p.InC, ch = e - tap * p.InC, ky = tap / p.KW, kx = tap - ky * p.KW, iy = iy0 + ky, ix = ix0 + kx;
        if ((uint)iy >= (uint)p.InH || (uint)ix >= (uint)p.InW) return 0;
        return (uint)GpuBlockMath.ImageByte(input, (long)n * p.InSample + ((long)iy * p.InW + ix) * p.InC + ch);
    }

    static void Step(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, ulong b) =>
        GpuMma.DotU8S8(ref c, a0, a1, a2, a3, (uint)b, (uint)(b >> 32));
}
