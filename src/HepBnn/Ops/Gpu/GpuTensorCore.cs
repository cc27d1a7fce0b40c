using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>The accumulators of one warp: 16 rows × 64 channels (eight m16n8 tiles) and the rows' own popcounts.</summary>
public struct MmaTile8
{
    public MmaAccumulator F0, F1, F2, F3, F4, F5, F6, F7, Pop;
}

/// <summary>
/// Binary conv/dense blocks as an implicit GEMM on the 1-bit tensor cores (<see cref="GpuMma"/>): M = conv output pixels
/// of the batch, N = output channels, K = kh·kw·InWords·64 patch bits in the weights' own [ky][kx][word] order.
/// A group (4 warps) owns 64 rows × 64 channels (one output word): rows are whole pooling windows of consecutive pooled
/// outputs, across samples. Each 32-word chunk of the rows' patches is gathered into shared memory (zeros for padding
/// taps), then each warp runs 16 rows × (8 + 1) m16n8k256 products per 256 bits, the weights read as B fragments
/// pre-arranged at Prepare ([channel tile][step][tile][lane], one 64-bit load per lane). The ninth product against an
/// all-ones B gives popc(a) of each row, so the AND products turn into the XOR popcount of the other kernels:
/// P = popc(a ⊕ w) = popc(a) + popc(w) − 2·popc(a ∧ w) over the whole patch (padding taps are zero in a, and P counts
/// popc(w) there, as <see cref="CpuBlockData"/>'s thresholds expect). Epilogue fused: per-class threshold on P → bits,
/// OR/AND pooling over the window's rows in shared memory, one 64-bit word stored per pooled output; or int scores.
/// </summary>
public sealed class GpuTensorCore : GpuConfiguration
{
    /// <summary>Most warps per group (fewer where the accelerator's groups are smaller: ILGPU's CPU accelerator takes 64
    /// threads); the shared arrays are sized for this many.</summary>
    const int MaxWarps = 4, MaxTileRows = 16 * MaxWarps, ChunkWords = 32;
    /// <summary>Largest pooling window (conv outputs): whole windows must fit the rows of a 2-warp group.</summary>
    const int MaxWindow = 32;
    /// <summary>Shared-memory row stride in 32-bit units: 4 more than the chunk so the 8 rows a fragment load touches
    /// fall in different banks.</summary>
    const int RowStride = 2 * ChunkWords + 4;

    public override string Name => "gpu.tensor-core";
    public override string Description => "implicit GEMM on 1-bit tensor cores (mma m16n8k256 and.popc), fused thresholds and pooling";
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    public override bool Supports(Block block) => Refusal(block) is null;

    public override string? Refusal(Block block)
    {
        if (block.Input == BlockInput.Image) return "8-bit image input (the 1-bit MMA takes packed bits)";
        if (block.Output == BlockOutput.Scores && block.HasPool) return "pooled scores";
        if (block.HasPool && block.PoolSize * block.PoolSize > MaxWindow) return $"pooling windows over {MaxWindow} conv outputs";
        if (!CpuBlockData.Fits(block)) return "border-class tables too large";
        return null;
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p.KWords = p.KH * p.KW * p.InWords;
        p.KSteps = (p.KWords + 3) / 4;
        p.Lanes = Math.Min(MaxWarps, gpu.Accelerator.MaxNumThreadsPerGroup / 32) * 32;
        p.TilePooled = p.Lanes / 2 / (p.Pool * p.Pool); // 16 rows per warp
        p.PaddedK = (p.K + 63) & ~63;
        return p;
    }

    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p)
    {
        var tables = new CpuBlockData(block, 0, 0);
        p = WithOffsets(p, tables);
        return new GpuBlockData(gpu, block, p, (Fragments(block, p), Meta(block, p, tables), GpuBlockData.PoolAndWords(block)));
    }

    static GpuBlockParams WithOffsets(GpuBlockParams p, CpuBlockData t)
    {
        int classes = t.RowTaps.Length * t.ColTaps.Length;
        p.ColClasses = t.ColClasses;
        p.RowOfOffset = 0;
        p.ColOfOffset = p.ConvH;
        p.ValueOffset = p.ConvH + p.ConvW;
        p.SpanOffset = checked(p.ValueOffset + classes * p.PaddedK);
        return p;
    }

    /// <summary>Weights as B fragments: [channel tile of 64][step][n-tile of 8][lane], lane (g, t) holding column
    /// 8·tile + g, 32-bit parts t (low half) and 4+t (high half) of the step's 256 bits; zeros past K and past the patch.</summary>
    internal static ulong[] Fragments(Block block, GpuBlockParams p)
    {
        var w = block.PackedWeights!;
        int k = block.OutChannels, words = p.KWords, steps = p.KSteps, tiles = p.PaddedK / 64;
        var frag = new ulong[(long)tiles * steps * 8 * 32];
        for (int ct = 0; ct < tiles; ct++)
            for (int s = 0; s < steps; s++)
                for (int f = 0; f < 8; f++)
                    for (int lane = 0; lane < 32; lane++)
                    {
                        int ch = ct * 64 + f * 8 + (lane >> 2), t = lane & 3;
                        if (ch >= k) continue;
                        ulong b0 = Part(w, (long)ch * words, words, 4 * s + (t >> 1), t & 1);
                        ulong b1 = Part(w, (long)ch * words, words, 4 * s + 2 + (t >> 1), t & 1);
                        frag[(((long)ct * steps + s) * 8 + f) * 32 + lane] = b0 | b1 << 32;
                    }
        return frag;
    }

    static uint Part(ulong[] w, long row, int words, int word, int half) => word < words ? (uint)(w[row + word] >> (32 * half)) : 0u;

    /// <summary>[row class of conv row][col class of conv column][per (class, channel): bits: Lo − popc(w), scores:
    /// Corr − 2·popc(w)][bits: Span per (class, channel)] — the CPU kernels' popcount thresholds moved from P onto
    /// popc(a) − 2·popc(a ∧ w) = P − popc(w).</summary>
    internal static int[] Meta(Block block, GpuBlockParams p, CpuBlockData t)
    {
        var w = block.PackedWeights!;
        int k = block.OutChannels, classes = t.RowTaps.Length * t.ColTaps.Length, pk = p.PaddedK;
        var popW = new int[pk];
        for (int ch = 0; ch < k; ch++)
            for (int i = 0; i < p.KWords; i++) popW[ch] += System.Numerics.BitOperations.PopCount(w[(long)ch * p.KWords + i]);
        bool bits = block.Output == BlockOutput.Bits;
        var meta = new int[checked(p.ConvH + p.ConvW + classes * pk * (bits ? 2 : 1))];
        t.RowClass.CopyTo(meta, 0);
        t.ColClass.CopyTo(meta, p.ConvH);
        for (int c = 0; c < classes; c++)
            for (int ch = 0; ch < pk; ch++)
            {
                int i = c * pk + ch;
                if (bits)
                {
                    meta[p.ValueOffset + i] = checked((int)((long)t.Lo[i] - popW[ch]));
                    meta[p.SpanOffset + i] = checked((int)t.Span[i]);
                }
                else meta[p.ValueOffset + i] = checked(t.Corr[i] - 2 * popW[ch]);
            }
        return meta;
    }

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        long pooled = (long)batch * p.OutH * p.OutW;
        return new KernelConfig(new Index3D(checked((int)((pooled + p.TilePooled - 1) / p.TilePooled)), p.PaddedK / 64, 1),
            new Index3D(p.Lanes, 1, 1));
    }

    /// <summary>Sample (−1: none), conv row and column of each of the group's 64 rows: row r is position r % Pool² of the
    /// pooling window of pooled output tile·TilePooled + r / Pool² (rows past the last whole window are empty).</summary>
    static void Rows(GpuBlockParams p, ArrayView<int> rowN, ArrayView<int> rowY, ArrayView<int> rowX)
    {
        int r = Group.IdxX;
        if (r >= Group.DimX / 2) return;
        int w2 = p.Pool * p.Pool, q = r / w2, win = r - q * w2, n = -1, oy = 0, ox = 0;
        long per = (long)p.OutH * p.OutW, gq = (long)Grid.IdxX * p.TilePooled + q;
        if (q < p.TilePooled && gq < p.Batch * per)
        {
            n = (int)(gq / per);
            int pp = (int)(gq - n * per), py = pp / p.OutW, px = pp - py * p.OutW, dy = win / p.Pool, dx = win - dy * p.Pool;
            oy = py * p.PoolStride + dy;
            ox = px * p.PoolStride + dx;
        }
        rowN[r] = n;
        rowY[r] = oy;
        rowX[r] = ox;
    }

    /// <summary>Gathers words [k0, k0 + len) of the 64 rows' patches into the stage: each thread one word column (one
    /// tap/word decode per chunk), its warp's rows; zeros for padding taps, empty rows and words past the patch.</summary>
    static void Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<uint> stage, ArrayView<int> rowN, ArrayView<int> rowY,
        ArrayView<int> rowX, int k0, int len)
    {
        int col = Group.IdxX & 31;
        if (col >= len) return;
        int kw = k0 + col;
        bool real = kw < p.KWords;
        int tap = real ? kw / p.InWords : 0, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
        for (int r = Group.IdxX >> 5, rows = Group.DimX / 2; r < rows; r += Group.DimX >> 5)
        {
            int n = rowN[r];
            ulong v = 0;
            if (real && n >= 0)
            {
                int iy = rowY[r] * p.Stride - p.Pad + ky, ix = rowX[r] * p.Stride - p.Pad + kx;
                if (iy >= 0 && iy < p.InH && ix >= 0 && ix < p.InW)
                    v = input[(long)n * p.InSample + ((long)iy * p.InW + ix) * p.InWords + wd];
            }
            int s = r * RowStride + 2 * col;
            stage[s] = (uint)v;
            stage[s + 1] = (uint)(v >> 32);
        }
    }

    /// <summary>The warp's 16 rows × 64 channels of channel tile Grid.IdxY, over the whole patch.</summary>
    static void Product(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> weights, ArrayView<uint> stage,
        ArrayView<int> rowN, ArrayView<int> rowY, ArrayView<int> rowX, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * RowStride + t, rB = rA + 8 * RowStride;
        int total = p.KSteps * 4;
        for (int k0 = 0; k0 < total; k0 += ChunkWords)
        {
            int len = total - k0 < ChunkWords ? total - k0 : ChunkWords;
            Stage(p, input, stage, rowN, rowY, rowX, k0, len);
            Group.Barrier();
            long wb = ((long)Grid.IdxY * p.KSteps + (k0 >> 2)) * 256 + lane;
            for (int u = 0; u < 2 * len; u += 8)
            {
                uint a0 = stage[rA + u], a1 = stage[rB + u], a2 = stage[rA + u + 4], a3 = stage[rB + u + 4];
                Step(ref acc.F0, a0, a1, a2, a3, weights[wb]);
                Step(ref acc.F1, a0, a1, a2, a3, weights[wb + 32]);
                Step(ref acc.F2, a0, a1, a2, a3, weights[wb + 64]);
                Step(ref acc.F3, a0, a1, a2, a3, weights[wb + 96]);
                Step(ref acc.F4, a0, a1, a2, a3, weights[wb + 128]);
                Step(ref acc.F5, a0, a1, a2, a3, weights[wb + 160]);
                Step(ref acc.F6, a0, a1, a2, a3, weights[wb + 192]);
                Step(ref acc.F7, a0, a1, a2, a3, weights[wb + 224]);
                GpuMma.AndPopc(ref acc.Pop, a0, a1, a2, a3, ~0u, ~0u);
                wb += 256;
            }
            Group.Barrier();
        }
    }

    static void Step(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, ulong b) =>
        GpuMma.AndPopc(ref c, a0, a1, a2, a3, (uint)b, (uint)(b >> 32));

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        var stage = SharedMemory.Allocate<uint>(MaxTileRows * RowStride);
        var rowN = SharedMemory.Allocate<int>(MaxTileRows);
        var rowY = SharedMemory.Allocate<int>(MaxTileRows);
        var rowX = SharedMemory.Allocate<int>(MaxTileRows);
        var rowBits = SharedMemory.Allocate<ulong>(MaxTileRows);
        Rows(p, rowN, rowY, rowX);
        Group.Barrier();
        var acc = default(MmaTile8);
        Product(p, input, weights, stage, rowN, rowY, rowX, ref acc);

        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        ulong upper = RowBits(p, meta, rowN, rowY, rowX, r, acc.Pop.C0, t, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1,
            acc.F2.C0, acc.F2.C1, acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        ulong lower = RowBits(p, meta, rowN, rowY, rowX, r + 8, acc.Pop.C2, t, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3,
            acc.F2.C2, acc.F2.C3, acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
        // The 4 lanes of a row hold interleaved channel pairs: OR their bits together.
        upper = OrQuad(upper);
        lower = OrQuad(lower);
        if (t == 0)
        {
            rowBits[r] = upper;
            rowBits[r + 8] = lower;
        }
        Group.Barrier();

        int q = Group.IdxX;
        long per = (long)p.OutH * p.OutW, gq = (long)Grid.IdxX * p.TilePooled + q;
        if (q >= p.TilePooled || gq >= p.Batch * per) return;
        int w2 = p.Pool * p.Pool;
        ulong any = 0, all = ~0UL;
        for (int i = 0; i < w2; i++)
        {
            ulong v = rowBits[q * w2 + i];
            any |= v;
            all &= v;
        }
        ulong andMask = poolAnd[Grid.IdxY];
        long n = gq / per;
        outWords[n * p.OutSample + (gq - n * per) * p.OutWords + Grid.IdxY] = (all & andMask) | (any & ~andMask);
    }

    static ulong OrQuad(ulong v)
    {
        uint lo = (uint)v, hi = (uint)(v >> 32);
        lo |= Warp.ShuffleXor(lo, 1);
        hi |= Warp.ShuffleXor(hi, 1);
        lo |= Warp.ShuffleXor(lo, 2);
        hi |= Warp.ShuffleXor(hi, 2);
        return lo | (ulong)hi << 32;
    }

    /// <summary>This lane's 16 output bits of row <paramref name="r"/> (channels 8f + 2t, 8f + 2t + 1 of the tile).</summary>
    static ulong RowBits(GpuBlockParams p, ArrayView<int> meta, ArrayView<int> rowN, ArrayView<int> rowY, ArrayView<int> rowX,
        int r, int pop, int t, int x00, int x01, int x10, int x11, int x20, int x21, int x30, int x31,
        int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        if (rowN[r] < 0) return 0;
        long cls = (long)(meta[p.RowOfOffset + rowY[r]] * p.ColClasses + meta[p.ColOfOffset + rowX[r]]) * p.PaddedK
                   + Grid.IdxY * 64 + 2 * t;
        return Pair(p, meta, cls, pop, x00, x01) << (2 * t) | Pair(p, meta, cls + 8, pop, x10, x11) << (8 + 2 * t)
             | Pair(p, meta, cls + 16, pop, x20, x21) << (16 + 2 * t) | Pair(p, meta, cls + 24, pop, x30, x31) << (24 + 2 * t)
             | Pair(p, meta, cls + 32, pop, x40, x41) << (32 + 2 * t) | Pair(p, meta, cls + 40, pop, x50, x51) << (40 + 2 * t)
             | Pair(p, meta, cls + 48, pop, x60, x61) << (48 + 2 * t) | Pair(p, meta, cls + 56, pop, x70, x71) << (56 + 2 * t);
    }

    /// <summary>Bits of channels i, i+1 (table index): P − Lo = popc(a) − 2·popc(a ∧ w) − (Lo − popc(w)) within the span.</summary>
    static ulong Pair(GpuBlockParams p, ArrayView<int> meta, long i, int pop, int x0, int x1)
    {
        ulong b0 = (uint)(pop - 2 * x0 - meta[p.ValueOffset + i]) <= (uint)meta[p.SpanOffset + i] ? 1UL : 0UL;
        ulong b1 = (uint)(pop - 2 * x1 - meta[p.ValueOffset + i + 1]) <= (uint)meta[p.SpanOffset + i + 1] ? 1UL : 0UL;
        return b0 | b1 << 1;
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        var stage = SharedMemory.Allocate<uint>(MaxTileRows * RowStride);
        var rowN = SharedMemory.Allocate<int>(MaxTileRows);
        var rowY = SharedMemory.Allocate<int>(MaxTileRows);
        var rowX = SharedMemory.Allocate<int>(MaxTileRows);
        Rows(p, rowN, rowY, rowX);
        Group.Barrier();
        var acc = default(MmaTile8);
        Product(p, input, weights, stage, rowN, rowY, rowX, ref acc);

        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        int k = Grid.IdxY * 64 + 2 * t;
        RowScores(p, outScores, meta, rowN, rowY, rowX, r, acc.Pop.C0, k, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1,
            acc.F2.C0, acc.F2.C1, acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        RowScores(p, outScores, meta, rowN, rowY, rowX, r + 8, acc.Pop.C2, k, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3,
            acc.F2.C2, acc.F2.C3, acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
    }

    /// <summary>x = Corr − 2P = (Corr − 2·popc(w)) − 2·popc(a) + 4·popc(a ∧ w) for this lane's 16 channels of row r.</summary>
    static void RowScores(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> meta, ArrayView<int> rowN, ArrayView<int> rowY,
        ArrayView<int> rowX, int r, int pop, int k, int x00, int x01, int x10, int x11, int x20, int x21, int x30, int x31,
        int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        int n = rowN[r];
        if (n < 0) return;
        int oy = rowY[r], ox = rowX[r];
        long cls = (long)(meta[p.RowOfOffset + oy] * p.ColClasses + meta[p.ColOfOffset + ox]) * p.PaddedK + k;
        long o = (long)n * p.OutSample + ((long)oy * p.OutW + ox) * p.K + k;
        Score(p, outScores, meta, cls, o, k, pop, x00, x01);
        Score(p, outScores, meta, cls + 8, o + 8, k + 8, pop, x10, x11);
        Score(p, outScores, meta, cls + 16, o + 16, k + 16, pop, x20, x21);
        Score(p, outScores, meta, cls + 24, o + 24, k + 24, pop, x30, x31);
        Score(p, outScores, meta, cls + 32, o + 32, k + 32, pop, x40, x41);
        Score(p, outScores, meta, cls + 40, o + 40, k + 40, pop, x50, x51);
        Score(p, outScores, meta, cls + 48, o + 48, k + 48, pop, x60, x61);
        Score(p, outScores, meta, cls + 56, o + 56, k + 56, pop, x70, x71);
    }

    static void Score(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> meta, long cls, long o, int k, int pop, int x0, int x1)
    {
        if (k < p.K) outScores[o] = meta[p.ValueOffset + cls] - 2 * pop + 4 * x0;
        if (k + 1 < p.K) outScores[o + 1] = meta[p.ValueOffset + cls + 1] - 2 * pop + 4 * x1;
    }
}
