using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using ILGPU.Runtime;
using ILGPU;

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
/// 8-bit image blocks go through <see cref="GpuTensorCoreImage"/> (bit planes onto this kernel). Run only launches on the
/// session stream (capturable into a CUDA graph). Fewer warps per group where groups are smaller (the CPU accelerator).
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
        if (block.Input == BlockInput.Image && block.Output == BlockOutput.Scores) return "an 8-bit image block with scores output";
        if (block.HasChannelSums) return ChannelSumsRefusal;
        if (block.Input == BlockInput.Image && block.ImageWeights!.Any(w => w != 1 && w != -1)) return "image weights other than ±1";
        if (block.Output == BlockOutput.Scores && block.HasPool) return "pooled scores";
        if (block.HasPool && block.PoolSize * block.PoolSize > MaxWindow) return $"pooling windows over {MaxWindow} conv outputs";
        if (!CpuBlockData.Fits(block)) return "border-class tables too large";
        return null;
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        if (p.ImageInput == 1)
        {
            // The main kernel reads the bit planes [N][ConvH][ConvW][8][PlaneWords] (GpuTensorCoreImage) as a 1×1 conv;
            // K is plane-major, MSB first, each plane padded to whole MMA steps.
            int taps = p.KH * p.KW * p.InC, pw = (taps + 63) / 64, pw4 = (pw + 3) & ~3;
            p.PlaneWords = pw;
            p.PlaneSteps = pw4 / 4;
            p.InH = p.ConvH;
            p.InW = p.ConvW;
            p.InWords = 8 * pw;
            p.InSample = checked(p.ConvH * p.ConvW * 8 * pw);
            p.KH = p.KW = p.Stride = 1;
            p.Pad = 0;
            p.KWords = 8 * pw4;
            p.YSign = -1;
        }
        else
        {
            p.KWords = p.KH * p.KW * p.InWords;
            p.YSign = 1;
        }
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
        var rows = block.Input == BlockInput.Image ? GpuTensorCoreImage.WeightRows(block, p) : block.PackedWeights!;
        return new GpuBlockData(gpu, block, p, (Fragments(rows, block.OutChannels, p), Meta(block, p, tables), GpuBlockData.PoolAndWords(block)));
    }

    public override IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources)
    {
        if (block.Input != BlockInput.Image) return base.Prepare(block, maxBatch, resources);
        if (Refusal(block) is { } why) throw new HepBnnException($"{Name} does not support block {block.Name}: {why}");
        if (maxBatch > MaxBatch) throw new HepBnnException($"{Name}: batch {maxBatch} exceeds the GPU grid limit {MaxBatch}");
        var gpu = resources.RequireGpu();
        var kernel = gpu.Kernel<GpuKernelLauncher>($"{Name}/bits", a => a.LoadKernel(Bits));
        var p = Specialize(GpuBlockParams.From(block), gpu);
        return new GpuTensorCoreImage(this, gpu, block, CreateData(gpu, block, p), kernel, maxBatch);
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
    internal static ulong[] Fragments(ulong[] w, int k, GpuBlockParams p)
    {
        int words = p.KWords, steps = p.KSteps, tiles = p.PaddedK / 64;
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
        int k = block.OutChannels, classes = t.RowTaps.Length * t.ColTaps.Length, pk = p.PaddedK;
        var popW = new int[pk];
        if (block.PackedWeights is { } w)
            for (int ch = 0; ch < k; ch++)
                for (int i = 0; i < p.KWords; i++) popW[ch] += System.Numerics.BitOperations.PopCount(w[(long)ch * p.KWords + i]);
        bool bits = block.Output == BlockOutput.Bits, image = block.Input == BlockInput.Image;
        var meta = new int[checked(p.ConvH + p.ConvW + classes * pk * (bits ? 2 : 1))];
        t.RowClass.CopyTo(meta, 0);
        t.ColClass.CopyTo(meta, p.ConvH);
        for (int c = 0; c < classes; c++)
            for (int ch = 0; ch < pk; ch++)
            {
                int i = c * pk + ch;
                if (image)
                {
                    // The raw sum x = 2·AND − popc(a) fires iff (uint)(x − SumLo) ≤ SumSpan.
                    meta[p.ValueOffset + i] = (int)t.SumLo[i];
                    meta[p.SpanOffset + i] = (int)t.SumSpan[i];
                }
                else if (bits)
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

    /// <summary>Gathers words [k0, k0 + len) of the rows' patches into the stage: each thread one word column (one
    /// tap/word decode per chunk) and 16 rows (rows = 16·warps, every warps-th), loads issued 8 at a time before their
    /// stores so their latencies overlap; zeros for padding taps, empty rows and words past the patch.</summary>
    static void Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<uint> stage, ArrayView<int> rowN, ArrayView<int> rowY,
        ArrayView<int> rowX, int k0, int len)
    {
        int col = Group.IdxX & 31;
        if (col >= len) return;
        int kw = k0 + col;
        int real = kw < p.KWords ? 0 : -1;
        int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
        if (p.PlaneSteps > 0)
        {
            // Image bit planes: K word kw is word w of plane `plane` (padded to PlaneSteps·4 words); the tensor holds PlaneWords.
            int plane = kw / (4 * p.PlaneSteps), w = kw - plane * 4 * p.PlaneSteps;
            real |= w < p.PlaneWords ? 0 : -1;
            wd = plane * p.PlaneWords + (w < p.PlaneWords ? w : 0);
            ky = kx = 0;
        }
        int warps = Group.DimX >> 5;
        for (int r = Group.IdxX >> 5, end = 16 * warps; r < end; r += 8 * warps)
        {
            ulong v0 = Gather(p, input, rowN, rowY, rowX, r, real, ky, kx, wd);
            ulong v1 = Gather(p, input, rowN, rowY, rowX, r + warps, real, ky, kx, wd);
            ulong v2 = Gather(p, input, rowN, rowY, rowX, r + 2 * warps, real, ky, kx, wd);
            ulong v3 = Gather(p, input, rowN, rowY, rowX, r + 3 * warps, real, ky, kx, wd);
            ulong v4 = Gather(p, input, rowN, rowY, rowX, r + 4 * warps, real, ky, kx, wd);
            ulong v5 = Gather(p, input, rowN, rowY, rowX, r + 5 * warps, real, ky, kx, wd);
            ulong v6 = Gather(p, input, rowN, rowY, rowX, r + 6 * warps, real, ky, kx, wd);
            ulong v7 = Gather(p, input, rowN, rowY, rowX, r + 7 * warps, real, ky, kx, wd);
            Put(stage, r, col, v0);
            Put(stage, r + warps, col, v1);
            Put(stage, r + 2 * warps, col, v2);
            Put(stage, r + 3 * warps, col, v3);
            Put(stage, r + 4 * warps, col, v4);
            Put(stage, r + 5 * warps, col, v5);
            Put(stage, r + 6 * warps, col, v6);
            Put(stage, r + 7 * warps, col, v7);
        }
    }

    /// <summary>Patch word (ky, kx, wd) of row r, or 0. Branch-free, so the compiler keeps a thread's 8 loads in flight
    /// together: a negative value in any of n, iy, InH−1−iy, ix, InW−1−ix (or a word past the patch: <paramref name="real"/>
    /// = −1 there) masks the index to word 0 and the value to 0.</summary>
    static ulong Gather(GpuBlockParams p, ArrayView<ulong> input, ArrayView<int> rowN, ArrayView<int> rowY, ArrayView<int> rowX,
        int r, int real, int ky, int kx, int wd)
    {
        int n = rowN[r], iy = rowY[r] * p.Stride - p.Pad + ky, ix = rowX[r] * p.Stride - p.Pad + kx;
        long bad = (n | iy | (p.InH - 1 - iy) | ix | (p.InW - 1 - ix) | real) >> 31; // −1 or 0
        long i = ((long)n * p.InSample + ((long)iy * p.InW + ix) * p.InWords + wd) & ~bad;
        return input[i] & ~(ulong)bad;
    }

    static void Put(ArrayView<uint> stage, int r, int col, ulong v)
    {
        int s = r * RowStride + 2 * col;
        stage[s] = (uint)v;
        stage[s + 1] = (uint)(v >> 32);
    }

    /// <summary>Copies the chunk's B fragments (len/4 steps × 8 tiles × 32 lanes, contiguous in the weights) into shared
    /// memory, 8 loads in flight per thread.</summary>
    static void StageWeights(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<ulong> bstage, int k0, int len)
    {
        long src = ((long)Grid.IdxY * p.KSteps + (k0 >> 2)) * 256;
        int count = (len >> 2) * 256, d = Group.DimX, last = count - 1;
        for (int i = Group.IdxX; i < count; i += 8 * d)
        {
            int i1 = i + d < last ? i + d : last, i2 = i + 2 * d < last ? i + 2 * d : last, i3 = i + 3 * d < last ? i + 3 * d : last;
            int i4 = i + 4 * d < last ? i + 4 * d : last, i5 = i + 5 * d < last ? i + 5 * d : last;
            int i6 = i + 6 * d < last ? i + 6 * d : last, i7 = i + 7 * d < last ? i + 7 * d : last;
            ulong w0 = weights[src + i], w1 = weights[src + i1], w2 = weights[src + i2], w3 = weights[src + i3];
            ulong w4 = weights[src + i4], w5 = weights[src + i5], w6 = weights[src + i6], w7 = weights[src + i7];
            bstage[i] = w0;
            bstage[i1] = w1;
            bstage[i2] = w2;
            bstage[i3] = w3;
            bstage[i4] = w4;
            bstage[i5] = w5;
            bstage[i6] = w6;
            bstage[i7] = w7;
        }
    }

    /// <summary>The warp's 16 rows × 64 channels of channel tile Grid.IdxY, over the whole patch: per 32-word chunk, the
    /// rows' patches and the weights' fragments are staged in shared memory, then 8 + 1 MMAs per 256 bits.</summary>
    static void Product(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> weights, ArrayView<uint> stage,
        ArrayView<ulong> bstage, ArrayView<int> rowN, ArrayView<int> rowY, ArrayView<int> rowX, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * RowStride + t, rB = rA + 8 * RowStride;
        int total = p.KSteps * 4;
        for (int k0 = 0; k0 < total; k0 += ChunkWords)
        {
            int len = total - k0 < ChunkWords ? total - k0 : ChunkWords;
            Stage(p, input, stage, rowN, rowY, rowX, k0, len);
            StageWeights(p, weights, bstage, k0, len);
            Group.Barrier();
            int wb = lane;
            for (int u = 0; u < 2 * len; u += 8)
            {
                uint a0 = stage[rA + u], a1 = stage[rB + u], a2 = stage[rA + u + 4], a3 = stage[rB + u + 4];
                Step(ref acc.F0, a0, a1, a2, a3, bstage[wb]);
                Step(ref acc.F1, a0, a1, a2, a3, bstage[wb + 32]);
                Step(ref acc.F2, a0, a1, a2, a3, bstage[wb + 64]);
                Step(ref acc.F3, a0, a1, a2, a3, bstage[wb + 96]);
                Step(ref acc.F4, a0, a1, a2, a3, bstage[wb + 128]);
                Step(ref acc.F5, a0, a1, a2, a3, bstage[wb + 160]);
                Step(ref acc.F6, a0, a1, a2, a3, bstage[wb + 192]);
                Step(ref acc.F7, a0, a1, a2, a3, bstage[wb + 224]);
                GpuMma.AndPopc(ref acc.Pop, a0, a1, a2, a3, ~0u, ~0u);
                wb += 256;
                int next = (k0 >> 2) + (u >> 3) + 1;
                if (p.PlaneSteps > 0 && next < p.KSteps && next % p.PlaneSteps == 0) Double(ref acc); // Horner over the bit planes
            }
            Group.Barrier();
        }
    }

    /// <summary>acc ← 2·acc between image bit planes (MSB first), so the sum ends as Σ 2^b·(plane b's products).</summary>
    static void Double(ref MmaTile8 acc)
    {
        Double(ref acc.F0); Double(ref acc.F1); Double(ref acc.F2); Double(ref acc.F3);
        Double(ref acc.F4); Double(ref acc.F5); Double(ref acc.F6); Double(ref acc.F7); Double(ref acc.Pop);
    }

    static void Double(ref MmaAccumulator c)
    {
        c.C0 <<= 1;
        c.C1 <<= 1;
        c.C2 <<= 1;
        c.C3 <<= 1;
    }

    static void Step(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, ulong b) =>
        GpuMma.AndPopc(ref c, a0, a1, a2, a3, (uint)b, (uint)(b >> 32));

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        var stage = SharedMemory.Allocate<uint>(MaxTileRows * RowStride);
        var bstage = SharedMemory.Allocate<ulong>(ChunkWords / 4 * 256);
        var rowN = SharedMemory.Allocate<int>(MaxTileRows);
        var rowY = SharedMemory.Allocate<int>(MaxTileRows);
        var rowX = SharedMemory.Allocate<int>(MaxTileRows);
        var rowBits = SharedMemory.Allocate<ulong>(MaxTileRows);
        Rows(p, rowN, rowY, rowX);
        Group.Barrier();
        // The epilogue's table rows and pooling mask, loaded before the product so their latency hides behind it.
        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        long clsA = ClassBase(p, meta, rowN, rowY, rowX, r) + 2 * t, clsB = ClassBase(p, meta, rowN, rowY, rowX, r + 8) + 2 * t;
        ulong andMask = poolAnd[Grid.IdxY];
        var acc = default(MmaTile8);
        Product(p, input, weights, stage, bstage, rowN, rowY, rowX, ref acc);

        ulong upper = RowBits(p, meta, clsA, acc.Pop.C0, t, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1,
            acc.F2.C0, acc.F2.C1, acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        ulong lower = RowBits(p, meta, clsB, acc.Pop.C2, t, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3,
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

    /// <summary>Index of (border class of row r, channel tile Grid.IdxY) in the per-class tables; negative for an empty row.</summary>
    static long ClassBase(GpuBlockParams p, ArrayView<int> meta, ArrayView<int> rowN, ArrayView<int> rowY, ArrayView<int> rowX, int r)
    {
        if (rowN[r] < 0) return long.MinValue / 2;
        return (long)(meta[p.RowOfOffset + rowY[r]] * p.ColClasses + meta[p.ColOfOffset + rowX[r]]) * p.PaddedK + Grid.IdxY * 64;
    }

    /// <summary>This lane's 16 output bits of row <paramref name="r"/> (channels 8f + 2t, 8f + 2t + 1 of the tile).</summary>
    static ulong RowBits(GpuBlockParams p, ArrayView<int> meta, long cls, int pop, int t, int x00, int x01, int x10, int x11, int x20, int x21, int x30, int x31,
        int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        if (cls < 0) return 0;
        return Pair(p, meta, cls, pop, x00, x01) << (2 * t) | Pair(p, meta, cls + 8, pop, x10, x11) << (8 + 2 * t)
             | Pair(p, meta, cls + 16, pop, x20, x21) << (16 + 2 * t) | Pair(p, meta, cls + 24, pop, x30, x31) << (24 + 2 * t)
             | Pair(p, meta, cls + 32, pop, x40, x41) << (32 + 2 * t) | Pair(p, meta, cls + 40, pop, x50, x51) << (40 + 2 * t)
             | Pair(p, meta, cls + 48, pop, x60, x61) << (48 + 2 * t) | Pair(p, meta, cls + 56, pop, x70, x71) << (56 + 2 * t);
    }

    /// <summary>Bits of channels i, i+1 (table index). Bits input: P − Lo = popc(a) − 2·popc(a ∧ w) − (Lo − popc(w)) within the
    /// span; image (YSign = −1): the raw sum 2·AND − popc(a) − SumLo within the span.</summary>
    static ulong Pair(GpuBlockParams p, ArrayView<int> meta, long i, int pop, int x0, int x1)
    {
        ulong b0 = (uint)(p.YSign * (pop - 2 * x0) - meta[p.ValueOffset + i]) <= (uint)meta[p.SpanOffset + i] ? 1UL : 0UL;
        ulong b1 = (uint)(p.YSign * (pop - 2 * x1) - meta[p.ValueOffset + i + 1]) <= (uint)meta[p.SpanOffset + i + 1] ? 1UL : 0UL;
        return b0 | b1 << 1;
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        var stage = SharedMemory.Allocate<uint>(MaxTileRows * RowStride);
        var bstage = SharedMemory.Allocate<ulong>(ChunkWords / 4 * 256);
        var rowN = SharedMemory.Allocate<int>(MaxTileRows);
        var rowY = SharedMemory.Allocate<int>(MaxTileRows);
        var rowX = SharedMemory.Allocate<int>(MaxTileRows);
        Rows(p, rowN, rowY, rowX);
        Group.Barrier();
        var acc = default(MmaTile8);
        Product(p, input, weights, stage, bstage, rowN, rowY, rowX, ref acc);

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
