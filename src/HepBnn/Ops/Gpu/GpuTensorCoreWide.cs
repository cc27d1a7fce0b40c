using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Binary conv/dense blocks on the 1-bit tensor cores like <see cref="GpuTensorCore"/> (same rows, fragments, identity
/// and outputs), but a group gathers its 64 rows' whole patches into shared memory once and then computes
/// several 64-channel tiles from them (all of the block's tiles where the grid stays full enough), instead of one group
/// per (row tile, channel tile) each gathering the patches again and staging its weights through shared memory. The
/// weights' B fragments are read straight from global memory (coalesced 64-bit loads per lane, the next step's
/// fragments loaded before this step's MMAs), the rows' popc(a) computed once per group. The stage is dynamic shared
/// memory sized to the block's patch (conv2 of VGG7: 11 KB, not the 43 KB of the largest patch), so more groups stay
/// resident; the gathers test each tap against a per-row mask of valid kernel rows and columns; the bits epilogue is
/// <see cref="WideBitsEpilogue"/> (paired thresholds, 32-bit masks). Refuses 8-bit image blocks (gpu.tensor-core has
/// the byte MMA for them), patches over <see cref="MaxPatchWords"/> words and kernels over 15 taps a side (the masks).
/// </summary>
public class GpuTensorCoreWide : GpuConfiguration
{
    /// <summary>Largest patch (64-bit words, padded to whole MMA steps) the stage holds: VGG7's 3×3×512 is 72.</summary>
    public const int MaxPatchWords = 80;
    /// <summary>Largest kernel side: a row's valid kernel rows and columns are 15-bit masks (bit 15 marks words past the patch).</summary>
    public const int MaxKernelSide = 15;
    const int MaxWindow = 32;

    public override string Name => "gpu.tensor-core-wide";
    public override string Description => "1-bit tensor-core implicit GEMM, whole patches staged once per group for several 64-channel tiles";
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;
    /// <summary>Resident groups per multiprocessor by registers: 128 threads of 76 registers (ptxas on sm_90,
    /// docs/results/h200-mma-b256/call2; up to 80) leave room for 6 of the 64K.</summary>
    protected virtual int RegisterGroupsPerSm => 6;
    /// <summary>What a group's gathers cost, in tile-times, for <see cref="TilesPerGroup"/>.</summary>
    protected virtual double GatherTiles => 0.5;

    public override bool Supports(Block block) => Refusal(block) is null;

    public override string? Refusal(Block block)
    {
        if (block.Input == BlockInput.Image) return "8-bit image blocks (gpu.tensor-core runs them on the byte MMA)";
        int words = (block.KernelH * block.KernelW * block.InputWords + 3) & ~3;
        if (words > MaxPatchWords) return $"patches of {words} words (the stage holds {MaxPatchWords})";
        if (block.KernelH > MaxKernelSide || block.KernelW > MaxKernelSide) return $"kernels over {MaxKernelSide} taps a side";
        if (block.Output == BlockOutput.Scores && block.HasPool) return "pooled scores";
        if (block.HasPool && block.PoolSize * block.PoolSize > MaxWindow) return $"pooling windows over {MaxWindow} conv outputs";
        if (!CpuBlockData.Fits(block)) return "border-class tables too large";
        return null;
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p = GpuTensorCore.WithSteps(p); // packed words only (image blocks refused): 256-bit steps, YSign 1
        p.RowStride = 8 * p.KSteps + 4; // 4 more than the patch: the 8 rows of a fragment load fall in different banks
        return GpuTensorCore.WithWarps(p, gpu, MaxWarps, 16);
    }

    const int MaxWarps = 4;
    /// <summary>64-bit words after the stage's last row: the product's A loads ahead of the last step (one step, or two in
    /// <see cref="GpuTensorCoreWideDeep"/>) read up to 12 32-bit units past that row's padding (unused).</summary>
    private protected const int StageSlack = 6;

    /// <summary>The tensor-core constants (<see cref="GpuTensorCore.Data"/>'s fragments and tables) and, for bits output,
    /// the thresholds again as <see cref="ThresholdPair"/>s ([class][channel pair]) at a 16-byte aligned offset.</summary>
    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p)
    {
        var tables = new CpuBlockData(block, 0, 0);
        p = GpuTensorCore.WithOffsets(p, tables);
        var meta = GpuTensorCore.Meta(block, p, tables);
        if (block.Output == BlockOutput.Bits)
        {
            int pairs = tables.RowTaps.Length * tables.ColTaps.Length * p.PaddedK / 2;
            p.PairOffset = (meta.Length + 3) & ~3;
            var all = new int[checked(p.PairOffset + 4 * pairs)];
            meta.CopyTo(all, 0);
            for (int i = 0; i < pairs; i++)
            {
                int o = p.PairOffset + 4 * i;
                all[o] = meta[p.ValueOffset + 2 * i];
                all[o + 1] = meta[p.ValueOffset + 2 * i + 1];
                all[o + 2] = meta[p.SpanOffset + 2 * i];
                all[o + 3] = meta[p.SpanOffset + 2 * i + 1];
            }
            meta = all;
        }
        // Two steps of zeros after the last tile: the product loop's loads ahead read them (unused).
        var fragments = GpuTensorCore.Fragments(block.PackedWeights!, block.OutChannels, p);
        Array.Resize(ref fragments, fragments.Length + 512 + ExtraWeightWords(p));
        return new GpuBlockData(gpu, block, p, (fragments, meta, GpuBlockData.PoolAndWords(block)));
    }

    /// <summary>Zeroed 64-bit words after the fragments and their padding step (none here): device memory a subclass's
    /// kernel may write (<see cref="GpuTensorCoreWideSplit"/>'s partial sums), uploaded with the weights.</summary>
    private protected virtual int ExtraWeightWords(GpuBlockParams p) => 0;

    /// <summary>Shared memory per multiprocessor on sm_90 (228 KB) and what each group takes besides its stage (the rows,
    /// bases, masks and CUDA's 1 KB reserve).</summary>
    const int SharedPerSm = 228 * 1024, SharedPerGroup = 3 * 1024;

    /// <summary>Resident groups per multiprocessor for a stage of <paramref name="rowStride"/> 32-bit units per row.</summary>
    internal static int GroupsPerSm(int rowStride, int registerGroups) =>
        Math.Max(1, Math.Min(registerGroups, SharedPerSm / (TileRows.MaxRows * rowStride * 4 + SharedPerGroup)));

    /// <summary>Channel tiles per group: the count with the fewest tile-times in all, counting whole rounds of resident
    /// groups (a last round only partly full costs a full one) and half a tile per group for its gathers. On ILGPU's CPU
    /// accelerator always 2, so the tests cover a group with several tiles and a group starting past tile 0.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        long pooled = (long)batch * p.OutH * p.OutW;
        int rowTiles = checked((int)((pooled + p.TilePooled - 1) / p.TilePooled)), tiles = p.PaddedK / 64;
        int per = gpu.Accelerator.AcceleratorType == AcceleratorType.Cuda
            ? TilesPerGroup(rowTiles, tiles, GroupsPerSm(p.RowStride, RegisterGroupsPerSm) * gpu.Accelerator.NumMultiprocessors, GatherTiles)
            : Math.Min(2, tiles);
        p.TilesPerGroup = per;
        return new KernelConfig(new Index3D(rowTiles, (tiles + per - 1) / per, 1), new Index3D(p.Lanes, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(TileRows.MaxRows * p.RowStride / 2 + StageSlack));
    }

    internal static int TilesPerGroup(int rowTiles, int tiles, int slots, double gatherTiles = 0.5)
    {
        int best = 1;
        double bestCost = double.MaxValue;
        for (int per = 1; per <= tiles; per++)
        {
            long groups = (long)rowTiles * ((tiles + per - 1) / per);
            double cost = (groups + slots - 1) / slots * (per + gatherTiles);
            if (cost < bestCost - 1e-9)
            {
                best = per;
                bestCost = cost;
            }
        }
        return best;
    }

    /// <summary>Each row's window, once per group (the gathers then skip the row table and the 64-bit multiplies): the
    /// index of its top-left input word (may lie in the padding) and its valid taps, (kernel rows inside the input) · 65536
    /// + (kernel columns inside), bit ky or kx set when that kernel row or column of the window lies in the input; 0 for
    /// an empty row, so every tap is out of bounds.</summary>
    private protected static void Windows(GpuBlockParams p, TileRows rows, ArrayView<long> bases, ArrayView<int> masks, int rowCount)
    {
        int r = Group.IdxX;
        if (r >= rowCount) return;
        int n = rows.N[r], iy0 = rows.Y[r] * p.Stride - p.Pad, ix0 = rows.X[r] * p.Stride - p.Pad;
        bases[r] = (long)(n < 0 ? 0 : n) * p.InSample + ((long)iy0 * p.InW + ix0) * p.InWords;
        masks[r] = n < 0 ? 0 : Inside(iy0, p.KH, p.InH) << 16 | Inside(ix0, p.KW, p.InW);
    }

    /// <summary>Bits k &lt; taps with 0 ≤ first + k &lt; size.</summary>
    static int Inside(int first, int taps, int size)
    {
        int lo = first < 0 ? -first : 0, hi = size - first < taps ? size - first : taps;
        return hi <= lo ? 0 : ((1 << hi) - 1) & ~((1 << lo) - 1);
    }

    /// <summary>Gathers the rows' whole patches (KSteps·4 words, zeros for padding taps, empty rows and past the patch) into
    /// the stage: each thread one word column per 32 and 16 rows (every warps-th: 16·warps rows in all), in two straight
    /// runs of 8 loads in flight. Straight code, not a loop over the rows: ILGPU moved the column's tap decode (two
    /// divisions) into such a loop, once per 8 rows (call 1's SASS, docs/results/h200-mma-b256).</summary>
    private protected static void StagePatches(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, ArrayView<long> bases, ArrayView<int> masks) =>
        StageWords(p, input, stage, bases, masks, 0, p.KSteps * 4);

    /// <summary>Patch words [w0, w1) of the rows, as <see cref="StagePatches"/> places them (the other words are not written):
    /// gpu.tensor-core-wide-split stages only its share of the steps.</summary>
    private protected static void StageWords(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, ArrayView<long> bases, ArrayView<int> masks,
        int w0, int w1)
    {
        int col = Group.IdxX & 31, warps = Group.DimX >> 5, stride = p.RowStride >> 1, r = Group.IdxX >> 5;
        // Rounds counted from 0 to a bound without the lane in it, the lane's word tested inside: with constant shapes
        // (GpuConstantKernel) the trip count is a constant and the loop unrolls, where `kw = w0 + col; kw < w1` could not.
        int rounds = (w1 - w0 + 31) >> 5;
        for (int i = 0; i < rounds; i++)
        {
            int kw = w0 + col + 32 * i;
            if (kw < w1) // not a break: a loop with one exit (ILGPU unrolls no other)
            {
                int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
                int sy = kw < p.KWords ? 16 + ky : 31, sx = kx; // past the patch: bit 31, never set
                int off = (ky * p.InW + kx) * p.InWords + wd;
                Gather8(input, stage, bases, masks, r, warps, stride, kw, sy, sx, off);
                Gather8(input, stage, bases, masks, r + 8 * warps, warps, stride, kw, sy, sx, off);
            }
        }
    }

    /// <summary>Word <paramref name="kw"/> of rows r, r + warps, … r + 7·warps: 8 loads, then 8 stores.</summary>
    static void Gather8(ArrayView<ulong> input, ArrayView<ulong> stage, ArrayView<long> bases, ArrayView<int> masks, int r, int warps,
        int stride, int kw, int sy, int sx, int off)
    {
        ulong v0 = Gather(input, bases, masks, r, sy, sx, off);
        ulong v1 = Gather(input, bases, masks, r + warps, sy, sx, off);
        ulong v2 = Gather(input, bases, masks, r + 2 * warps, sy, sx, off);
        ulong v3 = Gather(input, bases, masks, r + 3 * warps, sy, sx, off);
        ulong v4 = Gather(input, bases, masks, r + 4 * warps, sy, sx, off);
        ulong v5 = Gather(input, bases, masks, r + 5 * warps, sy, sx, off);
        ulong v6 = Gather(input, bases, masks, r + 6 * warps, sy, sx, off);
        ulong v7 = Gather(input, bases, masks, r + 7 * warps, sy, sx, off);
        int s = r * stride + kw, step = warps * stride;
        stage[s] = v0;
        stage[s + step] = v1;
        stage[s + 2 * step] = v2;
        stage[s + 3 * step] = v3;
        stage[s + 4 * step] = v4;
        stage[s + 5 * step] = v5;
        stage[s + 6 * step] = v6;
        stage[s + 7 * step] = v7;
    }

    /// <summary>Patch word at <paramref name="off"/> words from row r's window corner, or 0 where the row's mask lacks kernel
    /// row bit <paramref name="sy"/> or column bit <paramref name="sx"/>; branch-free (the index masked to word 0), so the
    /// compiler keeps a thread's 8 loads in flight together.</summary>
    private protected static ulong Gather(ArrayView<ulong> input, ArrayView<long> bases, ArrayView<int> masks, int r, int sy, int sx, int off)
    {
        int m = masks[r];
        long bad = ((m >> sy) & (m >> sx) & 1) - 1; // 0 inside, −1 outside
        return input[(bases[r] + off) & ~bad] & ~(ulong)bad;
    }

    /// <summary>popc(a) of this lane's rows (g, g+8) over the whole patch: the MMA against an all-ones B.</summary>
    static MmaAccumulator RowPopcounts(GpuBlockParams p, ArrayView<uint> stage)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        var pop = default(MmaAccumulator);
        for (int u = 0; u < 8 * p.KSteps; u += 8)
            GpuMma.AndPopc(ref pop, stage[rA + u], stage[rB + u], stage[rA + u + 4], stage[rB + u + 4], ~0u, ~0u);
        return pop;
    }

    /// <summary>The warp's 16 rows × 64 channels of tile <paramref name="tile"/>: A fragments from the stage, B fragments
    /// from global memory, both one step ahead of the 8 MMAs that use them. Two steps per iteration, the fragments
    /// alternating between two sets, so no register moves carry them from one step to the next. The loads past the last
    /// step read the stage's slack and the weights' padding step (unused), so the loop has no clamps; and step 0's loads
    /// come before the loop, so the lane's row offsets are computed there once (ILGPU places a value at its first use:
    /// with every use inside the loop, call 1's SASS recomputed them in each iteration).</summary>
    static void Product(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, int tile, Fragments8 even, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        long w = FragmentIndex(p, tile);
        var aEven = FragmentsA.Load(stage, rA, rB, 0);
        int s = 0;
        for (; s < p.KSteps - 1; s += 2) // the bound compared with s itself: a loop ILGPU's unroller recognises (twins)
        {
            var odd = Fragments8.Load(weights, w + 256);
            var aOdd = FragmentsA.Load(stage, rA, rB, 8 * s + 8);
            Mma8(aEven, even, ref acc);
            w += 512;
            even = Fragments8.Load(weights, w);
            aEven = FragmentsA.Load(stage, rA, rB, 8 * s + 16);
            Mma8(aOdd, odd, ref acc);
        }
        if (s < p.KSteps) Mma8(aEven, even, ref acc); // an odd step count: the last one
    }

    /// <summary><see cref="Product"/> with the fragments two steps ahead of their MMAs (three sets in turn, 16 more
    /// registers): the weights come from L2, and with one step ahead the long patches' warps waited on those loads
    /// (Nsight Compute, call 1: conv6 stalled on L1TEX dependencies for 65% of its cycles).</summary>
    private protected static void ProductDeep(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, int tile, Fragments8 b0, Fragments8 b1, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        long w = FragmentIndex(p, tile);
        var a0 = FragmentsA.Load(stage, rA, rB, 0);
        var a1 = FragmentsA.Load(stage, rA, rB, 8);
        int s = 0;
        for (; s < p.KSteps - 2; s += 3) // as in Product: s itself against the bound
        {
            var b2 = Fragments8.Load(weights, w + 512);
            var a2 = FragmentsA.Load(stage, rA, rB, 8 * s + 16);
            Mma8(a0, b0, ref acc);
            b0 = Fragments8.Load(weights, w + 768);
            a0 = FragmentsA.Load(stage, rA, rB, 8 * s + 24);
            Mma8(a1, b1, ref acc);
            b1 = Fragments8.Load(weights, w + 1024);
            a1 = FragmentsA.Load(stage, rA, rB, 8 * s + 32);
            Mma8(a2, b2, ref acc);
            w += 768;
        }
        if (s < p.KSteps) Mma8(a0, b0, ref acc); // 1 or 2 steps left
        if (s + 1 < p.KSteps) Mma8(a1, b1, ref acc);
    }

    /// <summary>Index of this lane's first B fragment word of <paramref name="tile"/> (step 0) in the weights.</summary>
    private protected static long FragmentIndex(GpuBlockParams p, int tile) => (long)tile * p.KSteps * 256 + (Group.IdxX & 31);

    /// <summary>The B fragments of a tile's step 0, which <see cref="Product"/> / <see cref="ProductDeep"/> take from the
    /// caller. In the deep kernels those of the group's first tile are loaded in the prologue, before
    /// <see cref="GpuDependentLaunch.Wait"/> (weights are session constants), so under a programmatic edge their L2 round
    /// trip overlaps the predecessor kernel instead of following the gathers (docs/results/h200-b1pdl). Only step 0 and
    /// only there: live across the gathers they cost 16 registers each (step 0 and 1 in the deep kernel: 134 registers
    /// where it had 100, 3 resident groups instead of 4 at large batches), and the plain wide kernel, chosen for short
    /// patches at larger batches, keeps its 6 groups.</summary>
    private protected static Fragments8 StepZero(GpuBlockParams p, ArrayView<ulong> weights, int tile) => Fragments8.Load(weights, FragmentIndex(p, tile));

    /// <summary>Step 1's B fragments of <paramref name="tile"/> for the deep product (default, unused, otherwise).</summary>
    private protected static Fragments8 StepOne(GpuBlockParams p, ArrayView<ulong> weights, int tile, bool deep) =>
        deep ? Fragments8.Load(weights, FragmentIndex(p, tile) + 256) : default;

    /// <summary>The 8 MMAs of one step: this lane's A registers against the step's 8 B fragments.</summary>
    private protected static void Mma8(FragmentsA a, Fragments8 b, ref MmaTile8 acc)
    {
        Step(ref acc.F0, a, b.B0);
        Step(ref acc.F1, a, b.B1);
        Step(ref acc.F2, a, b.B2);
        Step(ref acc.F3, a, b.B3);
        Step(ref acc.F4, a, b.B4);
        Step(ref acc.F5, a, b.B5);
        Step(ref acc.F6, a, b.B6);
        Step(ref acc.F7, a, b.B7);
    }

    /// <summary>One step's A fragment of this lane: rows g (stage offset rA) and g+8 (rB), parts t and 4+t at 32-bit offset u.</summary>
    private protected struct FragmentsA
    {
        public uint A0, A1, A2, A3;

        public static FragmentsA Load(ArrayView<uint> stage, int rA, int rB, int u) => new()
        {
            A0 = stage[rA + u], A1 = stage[rB + u], A2 = stage[rA + u + 4], A3 = stage[rB + u + 4],
        };
    }

    /// <summary>One step's B fragments of this lane: 8 n-tiles, 64 bits each (two registers).</summary>
    private protected struct Fragments8
    {
        public ulong B0, B1, B2, B3, B4, B5, B6, B7;

        public static Fragments8 Load(ArrayView<ulong> weights, long i) => new()
        {
            B0 = weights[i], B1 = weights[i + 32], B2 = weights[i + 64], B3 = weights[i + 96],
            B4 = weights[i + 128], B5 = weights[i + 160], B6 = weights[i + 192], B7 = weights[i + 224],
        };
    }

    static void Step(ref MmaAccumulator c, FragmentsA a, ulong b) =>
        GpuMma.AndPopc(ref c, a.A0, a.A1, a.A2, a.A3, (uint)b, (uint)(b >> 32));

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue(); // the body waits after its prologue
        BitsBody(p, input, outWords, weights, meta, poolAnd, deep: false);
    }

    protected static void BitsKernelDeep(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue(); // the body waits after its prologue
        BitsBody(p, input, outWords, weights, meta, poolAnd, deep: true);
    }

    /// <summary>The group's preamble after its rows: windows (two rows per thread) — the prologue's last part — then
    /// <see cref="GpuDependentLaunch.Wait"/> (the predecessor's output is read from here on), the patches gathered into the
    /// stage, and the popcounts of this lane's rows.</summary>
    private protected static ArrayView<uint> Start(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage64, TileRows rows, out MmaAccumulator pop)
    {
        var bases = SharedMemory.Allocate<long>(TileRows.MaxRows);
        var masks = SharedMemory.Allocate<int>(TileRows.MaxRows);
        Windows(p, rows, bases, masks, Group.DimX / 2);
        Group.Barrier();
        GpuDependentLaunch.Wait();
        StagePatches(p, input, stage64, bases, masks);
        Group.Barrier();
        var stage = stage64.Cast<uint>();
        pop = RowPopcounts(p, stage);
        return stage;
    }

    /// <summary>End (exclusive) of the group's channel tiles: <see cref="GpuBlockParams.TilesPerGroup"/> of them from
    /// <paramref name="first"/>, cut at the last tile.</summary>
    private protected static int TileEnd(GpuBlockParams p, int first)
    {
        int tiles = p.PaddedK / 64;
        return first + p.TilesPerGroup < tiles ? first + p.TilesPerGroup : tiles;
    }

    /// <summary>The bits kernel; <paramref name="deep"/> is a constant of each kernel method (ILGPU compiles one path).</summary>
    static void BitsBody(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<ulong> weights,
        ArrayView<int> meta, ArrayView<ulong> poolAnd, bool deep)
    {
        // Prologue (session constants only, see GpuDependentLaunch.Prologue): rows, the epilogue's table rows, the first
        // tile's pooling mask and (deep) its step-0 B fragments; Start waits for the predecessor before the gathers.
        var stage64 = SharedMemory.GetDynamic<ulong>();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var epilogue = new WideBitsEpilogue(p, meta, rows);
        var pairs = meta.Cast<ThresholdPair>();
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        ulong andMask = poolAnd[first];
        var b0 = deep ? StepZero(p, weights, first) : default;
        var stage = Start(p, input, stage64, rows, out var pop);
        for (int tile = first; tile < end; tile++)
        {
            if (tile > first) andMask = poolAnd[tile];
            if (tile > first || !deep) b0 = StepZero(p, weights, tile);
            var b1 = StepOne(p, weights, tile, deep);
            var acc = default(MmaTile8);
            acc.Pop = pop;
            if (deep) ProductDeep(p, weights, stage, tile, b0, b1, ref acc);
            else Product(p, weights, stage, tile, b0, ref acc);
            if (tile > first) Group.Barrier(); // the previous tile's pooling has read the rows' bits
            epilogue.Store(p, outWords, pairs, rows, tile, andMask, ref acc);
        }
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue(); // the body waits after its prologue
        ScoresBody(p, input, outScores, weights, meta, deep: false);
    }

    protected static void ScoresKernelDeep(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue(); // the body waits after its prologue
        ScoresBody(p, input, outScores, weights, meta, deep: true);
    }

    static void ScoresBody(GpuBlockParams p, ArrayView<ulong> input, ArrayView<int> outScores, ArrayView<ulong> weights,
        ArrayView<int> meta, bool deep)
    {
        // Prologue as in BitsBody: rows (and in the deep kernel the first tile's step-0 B fragments) before Start's wait.
        var stage64 = SharedMemory.GetDynamic<ulong>();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        var b0 = deep ? StepZero(p, weights, first) : default;
        var stage = Start(p, input, stage64, rows, out var pop);
        for (int tile = first; tile < end; tile++)
        {
            if (tile > first || !deep) b0 = StepZero(p, weights, tile);
            var b1 = StepOne(p, weights, tile, deep);
            var acc = default(MmaTile8);
            if (deep) ProductDeep(p, weights, stage, tile, b0, b1, ref acc);
            else Product(p, weights, stage, tile, b0, ref acc);
            int k = tile * 64 + 2 * t;
            GpuTensorCore.RowScores(p, outScores, meta, rows, r, pop.C0, k, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1,
                acc.F2.C0, acc.F2.C1, acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
            GpuTensorCore.RowScores(p, outScores, meta, rows, r + 8, pop.C2, k, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3,
                acc.F2.C2, acc.F2.C3, acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
        }
    }
}
