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
/// 8-bit image blocks run <see cref="GpuTensorCoreImage"/>'s kernel (byte MMA, same rows and epilogue). Run only launches
/// on the session stream (capturable into a CUDA graph). Fewer warps per group where groups are smaller (the CPU accelerator).
/// </summary>
public sealed class GpuTensorCore : GpuConfiguration
{
    /// <summary>Most warps per group (fewer where the accelerator's groups are smaller: ILGPU's CPU accelerator takes 64
    /// threads); the shared arrays are sized for this many.</summary>
    const int MaxWarps = 4, MaxTileRows = TileRows.MaxRows, ChunkWords = 32;
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
        return WithWarps(WithSteps(p), gpu, MaxWarps, 16);
    }

    /// <summary>The group: <paramref name="warps"/> warps (fewer where the device's groups are smaller) of
    /// <paramref name="rowsPerWarp"/> conv rows, so whole pooling windows of TilePooled pooled outputs per group.</summary>
    internal static GpuBlockParams WithWarps(GpuBlockParams p, GpuDevice gpu, int warps, int rowsPerWarp)
    {
        p.Lanes = Math.Min(warps, gpu.Accelerator.MaxNumThreadsPerGroup / 32) * 32;
        p.TilePooled = p.Lanes / 32 * rowsPerWarp / (p.Pool * p.Pool);
        return p;
    }

    /// <summary>The reduction as MMA steps, shared with <see cref="GpuFusedMma"/>: 256-bit steps of packed words, or byte
    /// MMA steps of 32 patch elements for an image input ([ky][kx][c], the weights' order; the epilogue then takes the
    /// raw sum, YSign 0); channels padded to whole 64-channel tiles.</summary>
    internal static GpuBlockParams WithSteps(GpuBlockParams p)
    {
        if (p.ImageInput == 1)
        {
            p.KWords = 0;
            p.KSteps = (p.KH * p.KW * p.InC + 31) / 32;
            p.YSign = 0;
        }
        else
        {
            p.KWords = p.KH * p.KW * p.InWords;
            p.KSteps = (p.KWords + 3) / 4;
            p.YSign = 1;
        }
        p.PaddedK = (p.K + 63) & ~63;
        return p;
    }

    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p) => Data(gpu, block, p);

    /// <summary>The tensor-core kernels' constants: weights as MMA B fragments, the per-class threshold tables, the pooling mask.</summary>
    internal static GpuBlockData Data(GpuDevice gpu, Block block, GpuBlockParams p)
    {
        var tables = new CpuBlockData(block, 0, 0);
        p = WithOffsets(p, tables);
        var meta = Meta(block, p, tables);
        if (block.Input == BlockInput.Image)
        {
            p.ImageWeightOffset = meta.Length; // here: the patch elements' offsets (GpuTensorCoreImage.Taps)
            meta = [.. meta, .. GpuTensorCoreImage.Taps(block, p)];
            if (GpuTensorCoreImage.UsesFastKernel(block)) (p, meta) = GpuTensorCoreImage.WithPairs(p, meta, tables.RowTaps.Length * tables.ColTaps.Length);
        }
        var weights = block.Input == BlockInput.Image ? GpuTensorCoreImage.Fragments(block, p) : Fragments(block.PackedWeights!, block.OutChannels, p);
        return new GpuBlockData(gpu, block, p, (weights, meta, GpuBlockData.PoolAndWords(block)));
    }

    public override IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources)
    {
        if (block.Input != BlockInput.Image) return base.Prepare(block, maxBatch, resources);
        if (Refusal(block) is { } why) throw new HepBnnException($"{Name} does not support block {block.Name}: {why}");
        if (maxBatch > MaxBatch) throw new HepBnnException($"{Name}: batch {maxBatch} exceeds the GPU grid limit {MaxBatch}");
        var gpu = resources.RequireGpu();
        var kernel = GpuTensorCoreImage.UsesFastKernel(block)
            ? gpu.Kernel<GpuKernelLauncher>($"{Name}/image-fast", a => a.LoadKernel((GpuKernelMethod)GpuTensorCoreImageFast.Kernel))
            : gpu.Kernel<GpuKernelLauncher>($"{Name}/image", a => a.LoadKernel((GpuKernelMethod)GpuTensorCoreImage.Kernel));
        return new GpuBlockRunner(this, gpu, CreateData(gpu, block, Specialize(GpuBlockParams.From(block), gpu)), kernel);
    }

    internal static GpuBlockParams WithOffsets(GpuBlockParams p, CpuBlockData t)
    {
        int classes = t.RowTaps.Length * t.ColTaps.Length;
        p.ColClasses = t.ColClasses;
        p.RowOfOffset = 0;
        p.ColOfOffset = p.ConvH;
        p.ValueOffset = p.ConvH + p.ConvW;
        p.SpanOffset = checked(p.ValueOffset + classes * p.PaddedK);
        return p;
    }

    /// <summary>The B-fragment layout every m16n8 tensor-core kernel reads: [channel tile of 64][step][n-tile of 8][lane],
    /// lane (g, t) of n-tile f holding column (output channel) 64·tile + 8·f + g; <paramref name="halves"/>(channel,
    /// step, t) gives that lane's low and high 32 bits. Channels ≥ <paramref name="k"/> stay zero. Set-up code only.</summary>
    internal static ulong[] BFragments(int k, int paddedK, int steps, Func<int, int, int, (uint Lo, uint Hi)> halves)
    {
        int tiles = paddedK / 64;
        var frag = new ulong[(long)tiles * steps * 8 * 32];
        for (int ct = 0; ct < tiles; ct++)
            for (int s = 0; s < steps; s++)
                for (int f = 0; f < 8; f++)
                    for (int lane = 0; lane < 32; lane++)
                    {
                        int ch = ct * 64 + f * 8 + (lane >> 2);
                        if (ch >= k) continue;
                        var (lo, hi) = halves(ch, s, lane & 3);
                        frag[(((long)ct * steps + s) * 8 + f) * 32 + lane] = lo | (ulong)hi << 32;
                    }
        return frag;
    }

    /// <summary>Weights as B fragments (<see cref="BFragments"/>): lane t holds 32-bit parts t (low half) and 4+t (high
    /// half) of the step's 256 bits; zeros past K and past the patch.</summary>
    internal static ulong[] Fragments(ulong[] w, int k, GpuBlockParams p)
    {
        int words = p.KWords;
        return BFragments(k, p.PaddedK, p.KSteps, (ch, s, t) =>
            (Part(w, (long)ch * words, words, 4 * s + (t >> 1), t & 1), Part(w, (long)ch * words, words, 4 * s + 2 + (t >> 1), t & 1)));
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
                    // The raw sum x = Σ w·p fires iff (uint)(x − SumLo) ≤ SumSpan.
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
        // Image blocks: one group computes every channel tile of its rows (GpuTensorCoreImage).
        return new KernelConfig(new Index3D(checked((int)((pooled + p.TilePooled - 1) / p.TilePooled)), p.ImageInput == 1 ? 1 : p.PaddedK / 64, 1),
            new Index3D(p.Lanes, 1, 1));
    }

    /// <summary>Shared memory of the group's rows (every kernel's preamble, see <see cref="TileRows"/>): fills the rows'
    /// sample, conv row and column, then waits for the group.</summary>
    internal static TileRows StartRows(GpuBlockParams p, ArrayView<int> coords, ArrayView<ulong> bits) =>
        StartRows(p, coords, bits, Group.DimX / 2);

    /// <summary><see cref="StartRows(GpuBlockParams, ArrayView{int}, ArrayView{ulong})"/> for a group of
    /// <paramref name="rowCount"/> rows (≤ the group's threads; 16 per warp in most kernels, 32 in gpu.tensor-core-wide-2m).</summary>
    internal static TileRows StartRows(GpuBlockParams p, ArrayView<int> coords, ArrayView<ulong> bits, int rowCount)
    {
        var rows = new TileRows(coords, bits);
        Rows(p, rows, rowCount);
        Group.Barrier();
        return rows;
    }

    /// <summary>Sample (−1: none), conv row and column of each of the group's 64 rows: row r is position r % Pool² of the
    /// pooling window of pooled output tile·TilePooled + r / Pool² (rows past the last whole window are empty).</summary>
    static void Rows(GpuBlockParams p, TileRows rows, int rowCount)
    {
        int r = Group.IdxX;
        if (r >= rowCount) return;
        int w2 = p.Pool * p.Pool, q = r / w2, win = r - q * w2, n = -1, oy = 0, ox = 0;
        long per = (long)p.OutH * p.OutW, gq = (long)Grid.IdxX * p.TilePooled + q;
        if (q < p.TilePooled && gq < p.Batch * per)
        {
            n = (int)(gq / per);
            int pp = (int)(gq - n * per), py = pp / p.OutW, px = pp - py * p.OutW, dy = win / p.Pool, dx = win - dy * p.Pool;
            oy = py * p.PoolStride + dy;
            ox = px * p.PoolStride + dx;
        }
        rows.N[r] = n;
        rows.Y[r] = oy;
        rows.X[r] = ox;
    }

    /// <summary>Gathers words [k0, k0 + len) of the rows' patches into the stage: each thread one word column (one
    /// tap/word decode per chunk) and 16 rows (rows = 16·warps, every warps-th), loads issued 8 at a time before their
    /// stores so their latencies overlap; zeros for padding taps, empty rows and words past the patch.</summary>
    static void Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<uint> stage, TileRows rows, int k0, int len)
    {
        int col = Group.IdxX & 31;
        if (col >= len) return;
        int kw = k0 + col;
        int real = kw < p.KWords ? 0 : -1;
        int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
        int warps = Group.DimX >> 5;
        for (int r = Group.IdxX >> 5, end = 16 * warps; r < end; r += 8 * warps)
        {
            ulong v0 = Gather(p, input, rows, r, real, ky, kx, wd);
            ulong v1 = Gather(p, input, rows, r + warps, real, ky, kx, wd);
            ulong v2 = Gather(p, input, rows, r + 2 * warps, real, ky, kx, wd);
            ulong v3 = Gather(p, input, rows, r + 3 * warps, real, ky, kx, wd);
            ulong v4 = Gather(p, input, rows, r + 4 * warps, real, ky, kx, wd);
            ulong v5 = Gather(p, input, rows, r + 5 * warps, real, ky, kx, wd);
            ulong v6 = Gather(p, input, rows, r + 6 * warps, real, ky, kx, wd);
            ulong v7 = Gather(p, input, rows, r + 7 * warps, real, ky, kx, wd);
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
    internal static ulong Gather(GpuBlockParams p, ArrayView<ulong> input, TileRows rows, int r, int real, int ky, int kx, int wd)
    {
        int n = rows.N[r], iy = rows.Y[r] * p.Stride - p.Pad + ky, ix = rows.X[r] * p.Stride - p.Pad + kx;
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
        ArrayView<ulong> bstage, TileRows rows, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * RowStride + t, rB = rA + 8 * RowStride;
        int total = p.KSteps * 4;
        for (int k0 = 0; k0 < total; k0 += ChunkWords)
        {
            int len = total - k0 < ChunkWords ? total - k0 : ChunkWords;
            Stage(p, input, stage, rows, k0, len);
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
            }
            Group.Barrier();
        }
    }

    static void Step(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, ulong b) =>
        GpuMma.AndPopc(ref c, a0, a1, a2, a3, (uint)b, (uint)(b >> 32));

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var stage = SharedMemory.Allocate<uint>(MaxTileRows * RowStride);
        var bstage = SharedMemory.Allocate<ulong>(ChunkWords / 4 * 256);
        var rows = StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(MaxTileRows));
        // Table rows and pooling mask loaded before the product so their latency hides behind it.
        var epilogue = new BitsEpilogue(p, meta, rows);
        ulong andMask = poolAnd[Grid.IdxY];
        var acc = default(MmaTile8);
        Product(p, input, weights, stage, bstage, rows, ref acc);
        epilogue.Store(p, outWords, meta, rows, Grid.IdxY, andMask, ref acc);
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var stage = SharedMemory.Allocate<uint>(MaxTileRows * RowStride);
        var bstage = SharedMemory.Allocate<ulong>(ChunkWords / 4 * 256);
        var rows = StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(MaxTileRows));
        var acc = default(MmaTile8);
        Product(p, input, weights, stage, bstage, rows, ref acc);

        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        int k = Grid.IdxY * 64 + 2 * t;
        RowScores(p, outScores, meta, rows, r, acc.Pop.C0, k, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1,
            acc.F2.C0, acc.F2.C1, acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        RowScores(p, outScores, meta, rows, r + 8, acc.Pop.C2, k, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3,
            acc.F2.C2, acc.F2.C3, acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
    }

    /// <summary>x = Corr − 2P = (Corr − 2·popc(w)) − 2·popc(a) + 4·popc(a ∧ w) for this lane's 16 channels of row r.</summary>
    internal static void RowScores(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> meta, TileRows rows,
        int r, int pop, int k, int x00, int x01, int x10, int x11, int x20, int x21, int x30, int x31,
        int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        int n = rows.N[r];
        if (n < 0) return;
        int oy = rows.Y[r], ox = rows.X[r];
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

/// <summary>A group's rows in shared memory, allocated by each kernel (ILGPU wants shared allocations in the kernel itself)
/// and filled by <see cref="GpuTensorCore.StartRows"/>: sample (−1: empty row), conv row and column per row, and the rows'
/// 64 output bits that the pooling epilogue combines.</summary>
public struct TileRows
{
    /// <summary>Rows of the largest group (4 warps × 16), and the ints of N, Y, X together.</summary>
    public const int MaxRows = 64, CoordInts = 3 * MaxRows;

    public ArrayView<int> N, Y, X;
    public ArrayView<ulong> Bits;

    public TileRows(ArrayView<int> coords, ArrayView<ulong> bits)
    {
        N = coords.SubView(0, MaxRows);
        Y = coords.SubView(MaxRows, MaxRows);
        X = coords.SubView(2 * MaxRows, MaxRows);
        Bits = bits;
    }
}

/// <summary>The bits epilogue of the tensor-core kernels: per-class thresholds of this lane's two rows → bits, OR of the
/// 4 lanes of a row, OR/AND pooling over each window's rows, one 64-bit word per pooled output. The table rows and the
/// pooling mask are read at construction, before the product, so their latency hides behind it.</summary>
public struct BitsEpilogue
{
    int _clsA, _clsB; // this lane's table index in channel tile 0 for its two rows (negative: empty row); ints: meta is an int[]

    public BitsEpilogue(GpuBlockParams p, ArrayView<int> meta, TileRows rows)
    {
        int r = (Group.IdxX >> 5) * 16 + ((Group.IdxX & 31) >> 2), t = Group.IdxX & 3;
        _clsA = ClassBase(p, meta, rows, r) + 2 * t;
        _clsB = ClassBase(p, meta, rows, r + 8) + 2 * t;
    }

    /// <summary>Stores channel tile <paramref name="tile"/> (output word) of the group's pooled outputs. Every thread of the
    /// group calls it (it waits for the group once); a caller that stores several tiles waits for the group between them,
    /// as the rows' bits are rewritten.</summary>
    public readonly void Store(GpuBlockParams p, ArrayView<ulong> outWords, ArrayView<int> meta, TileRows rows, int tile, ulong andMask, ref MmaTile8 acc)
    {
        int t = Group.IdxX & 3, r = (Group.IdxX >> 5) * 16 + ((Group.IdxX & 31) >> 2);
        int clsA = _clsA + tile * 64, clsB = _clsB + tile * 64;
        ulong upper = RowBits(p, meta, clsA, acc.Pop.C0, t, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1,
            acc.F2.C0, acc.F2.C1, acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        ulong lower = RowBits(p, meta, clsB, acc.Pop.C2, t, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3,
            acc.F2.C2, acc.F2.C3, acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
        // The 4 lanes of a row hold interleaved channel pairs: OR their bits together.
        upper = OrQuad(upper);
        lower = OrQuad(lower);
        if (t == 0)
        {
            rows.Bits[r] = upper;
            rows.Bits[r + 8] = lower;
        }
        Group.Barrier();

        int q = Group.IdxX;
        long per = (long)p.OutH * p.OutW, gq = (long)Grid.IdxX * p.TilePooled + q;
        if (q < p.TilePooled && gq < p.Batch * per) // no early return: callers may wait for the group after this
        {
            int w2 = p.Pool * p.Pool;
            ulong any = 0, all = ~0UL;
            for (int i = 0; i < w2; i++)
            {
                ulong v = rows.Bits[q * w2 + i];
                any |= v;
                all &= v;
            }
            long n = gq / per;
            outWords[n * p.OutSample + (gq - n * per) * p.OutWords + tile] = (all & andMask) | (any & ~andMask);
        }
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

    /// <summary>Index of (border class of row r, channel 0) in the per-class tables; very negative for an empty row.</summary>
    static int ClassBase(GpuBlockParams p, ArrayView<int> meta, TileRows rows, int r)
    {
        if (rows.N[r] < 0) return int.MinValue / 2;
        return (meta[p.RowOfOffset + rows.Y[r]] * p.ColClasses + meta[p.ColOfOffset + rows.X[r]]) * p.PaddedK;
    }

    /// <summary>This lane's 16 output bits of one row (channels 8f + 2t, 8f + 2t + 1 of the tile); also the epilogue of
    /// <see cref="GpuFusedMma"/>'s stages, whose tables have this layout.</summary>
    internal static ulong RowBits(GpuBlockParams p, ArrayView<int> meta, int cls, int pop, int t, int x00, int x01, int x10, int x11, int x20, int x21, int x30, int x31,
        int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        if (cls < 0) return 0;
        return Pair(p, meta, cls, pop, x00, x01) << (2 * t) | Pair(p, meta, cls + 8, pop, x10, x11) << (8 + 2 * t)
             | Pair(p, meta, cls + 16, pop, x20, x21) << (16 + 2 * t) | Pair(p, meta, cls + 24, pop, x30, x31) << (24 + 2 * t)
             | Pair(p, meta, cls + 32, pop, x40, x41) << (32 + 2 * t) | Pair(p, meta, cls + 40, pop, x50, x51) << (40 + 2 * t)
             | Pair(p, meta, cls + 48, pop, x60, x61) << (48 + 2 * t) | Pair(p, meta, cls + 56, pop, x70, x71) << (56 + 2 * t);
    }

    /// <summary>Bits of channels i, i+1 (table index). Bits input (YSign = 1): P − Lo = popc(a) − 2·popc(a ∧ w) − (Lo − popc(w))
    /// within the span; image (YSign = 0): the raw sum x − SumLo within the span.</summary>
    static ulong Pair(GpuBlockParams p, ArrayView<int> meta, int i, int pop, int x0, int x1)
    {
        int y0 = p.YSign == 0 ? x0 : pop - 2 * x0, y1 = p.YSign == 0 ? x1 : pop - 2 * x1;
        ulong b0 = (uint)(y0 - meta[p.ValueOffset + i]) <= (uint)meta[p.SpanOffset + i] ? 1UL : 0UL;
        ulong b1 = (uint)(y1 - meta[p.ValueOffset + i + 1]) <= (uint)meta[p.SpanOffset + i + 1] ? 1UL : 0UL;
        return b0 | b1 << 1;
    }
}
