using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Dense blocks with bits output on the 1-bit tensor cores (<see cref="GpuTensorCoreWide"/>'s fragments, threshold pairs
/// and identity) with 16 channels per warp instead of 64: a group owns up to 64 samples (1, 2 or 4 m16 row slices) × one
/// 64-channel tile, and each of its warps one (row slice, quarter of the tile): 2 n-tiles of 8 channels over ALL the
/// reduction's steps. Why: VGG3's fc1 at batch 256 (13 steps, 32 channel tiles) ran on the wide kernels as 128 groups of 4
/// warps, each warp a serial chain of ~2,450 instructions (8 n-tiles × 13 steps, its gathers and a 64-channel epilogue)
/// at 6 % occupancy, 6.9 µs for ~0.4 µs of MMA work (docs/results/h200-small8). Here the same 128 groups have 16 warps,
/// each with a quarter of the MMAs and of the epilogue and none of the wide kernels' per-row work: the samples' patches
/// are one contiguous run of input (a dense block's patch is its sample), staged with coalesced loads and no window
/// masks; each warp's B fragments of up to 16 steps are loaded in the prologue (before <see cref="GpuDependentLaunch.Wait"/>,
/// weights are constants) into registers, so its product waits on one L2 round trip, not one per step; popc(a) is
/// a third MMA against an all-ones B; and the 4 quarters of an output word are stored as
/// 16-bit pieces by the warps that computed them (no barrier, no shared bits). No K split: the reduction stays in one
/// warp (the in-group and cross-group splits measured slower than the deep kernel at fc1, docs/results/h200-fc256).
/// Rows per group: the fewest group-rounds × warps per SM (<see cref="SlicesFor"/>). Bits output only, no pooling.
/// </summary>
public sealed class GpuTensorCoreDenseNarrow : GpuTensorCoreWide
{
    /// <summary>Largest patch (64-bit words, whole steps): one row slice's stage (16 rows) must fit
    /// <see cref="SharedLimit"/>; VGG7's fc1 is 128.</summary>
    public const int MaxDensePatchWords = 256;
    /// <summary>Quarters of a 64-channel tile: pairs of n-tiles, one per warp where the group has enough warps.</summary>
    const int Quarters = 4;
    /// <summary>Most m16 row slices per group (16 warps, 512 threads: the .maxntid of <see cref="Specialization"/>).</summary>
    const int MaxSlices = 4;
    /// <summary>Shared memory a group may take without the opt-in attribute (CUDA's default 48 KB per block).</summary>
    const int SharedLimit = 48 * 1024;
    /// <summary>Steps whose B fragments a warp holds at once (4 × 4 steps × 2 n-tiles × 64 bits: 64 registers).</summary>
    const int Ahead = 16;

    public override string Name => "gpu.tensor-core-dense-narrow";
    public override string Description => "dense bits blocks on 1-bit tensor cores, 16 channels per warp and 16 warps per group, fragments loaded up front";
    protected override GpuKernelMethod Bits => NarrowBitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernelDeep; // never launched: scores are refused
    /// <summary>512 threads, one group per SM at least: ptxas caps the registers at 128 per thread.</summary>
    protected override KernelSpecialization Specialization => new(32 * Quarters * MaxSlices, 1);

    public override string? Refusal(Block block)
    {
        if (block.Input == BlockInput.Image) return "8-bit image blocks (gpu.tensor-core runs them on the byte MMA)";
        if (!block.IsDense) return "conv blocks (dense blocks only: a sample's patch is its whole input)";
        if (block.Output == BlockOutput.Scores) return "scores output (bits only)";
        if (block.HasPool) return "pooling";
        int words = (block.KernelH * block.KernelW * block.InputWords + 3) & ~3;
        if (words > MaxDensePatchWords) return $"patches of {words} words (the stage holds {MaxDensePatchWords})";
        if (!CpuBlockData.Fits(block)) return "border-class tables too large";
        return null;
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p = GpuTensorCore.WithSteps(p); // packed words only (image blocks refused)
        p.RowStride = 8 * p.KSteps + 4; // as the wide kernels: the 8 rows of a fragment load fall in different banks
        p.Lanes = Math.Min(Quarters * MaxSlices, gpu.Accelerator.MaxNumThreadsPerGroup / 32) * 32;
        p.TilesPerGroup = 1;
        return p;
    }

    /// <summary>Grid (row tiles × channel tiles) and group (quarters × slices warps); TilePooled = the group's samples.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        int warps = p.Lanes / 32, quarters = Math.Min(Quarters, warps), tiles = p.PaddedK / 64;
        int sms = gpu.Accelerator.AcceleratorType == AcceleratorType.Cuda ? gpu.Accelerator.NumMultiprocessors : 0;
        int slices = SlicesFor(batch, tiles, p.RowStride, warps / quarters, sms);
        p.TilePooled = 16 * slices;
        int rowTiles = (batch + p.TilePooled - 1) / p.TilePooled;
        return new KernelConfig(new Index3D(rowTiles, tiles, 1), new Index3D(32 * quarters * slices, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(p.TilePooled * p.RowStride / 2));
    }

    /// <summary>Row slices per group (1, 2 or 4, at most <paramref name="maxSlices"/>, the stage within
    /// <see cref="SharedLimit"/>): on a GPU of <paramref name="sms"/> multiprocessors the fewest (rounds of one group per
    /// SM) × (warps per group), i.e. the most warps of the busiest SM's share, ties to the larger groups (their samples'
    /// B fragments are read from L2 once per group, not once per slice); VGG3 fc1 b256: 4 (128 groups of 16 warps), b16: 1,
    /// VGG7 fc1 b256 (16 tiles): 2. On ILGPU's CPU accelerator (<paramref name="sms"/> 0) the largest, so its tests run the
    /// shape a GPU runs at large batches.</summary>
    internal static int SlicesFor(int batch, int tiles, int rowStride, int maxSlices, int sms)
    {
        int best = 1;
        long bestCost = long.MaxValue;
        for (int s = MaxSlices; s >= 1; s >>= 1)
        {
            if (s > maxSlices || 16 * s * rowStride * 4 > SharedLimit) continue;
            if (sms == 0) return s;
            long groups = (long)((batch + 16 * s - 1) / (16 * s)) * tiles;
            long cost = (groups + sms - 1) / sms * s;
            if (cost < bestCost)
            {
                best = s;
                bestCost = cost;
            }
        }
        return best;
    }

    /// <summary>One lane's accumulators of its 2 n-tiles (rows g and g+8) and the rows' popc(a) (Pop.C0: row g, C2: g + 8).</summary>
    struct NarrowAcc
    {
        public MmaAccumulator F0, F1, Pop;
    }

    /// <summary>B fragments of 4 consecutive steps for the warp's 2 n-tiles: X = n-tile 2·pair, Y = 2·pair + 1.</summary>
    struct Steps4
    {
        public ulong X0, Y0, X1, Y1, X2, Y2, X3, Y3;

        /// <summary>Steps s..s+3 from <paramref name="w"/> (the warp's n-tile X of step 0); steps past the last are read
        /// as the last (clamped: always inside the weights; their MMAs are skipped).</summary>
        public static Steps4 Load(GpuBlockParams p, ArrayView<ulong> weights, long w, int s)
        {
            int last = p.KSteps - 1;
            long i0 = w + 256L * (s < last ? s : last), i1 = w + 256L * (s + 1 < last ? s + 1 : last);
            long i2 = w + 256L * (s + 2 < last ? s + 2 : last), i3 = w + 256L * (s + 3 < last ? s + 3 : last);
            return new Steps4
            {
                X0 = weights[i0], Y0 = weights[i0 + 32], X1 = weights[i1], Y1 = weights[i1 + 32],
                X2 = weights[i2], Y2 = weights[i2 + 32], X3 = weights[i3], Y3 = weights[i3 + 32],
            };
        }
    }

    /// <summary><see cref="Ahead"/> steps of fragments: four sets of 4, rolled forward one set at a time.</summary>
    struct Steps16
    {
        public Steps4 S0, S1, S2, S3;

        public static Steps16 Load(GpuBlockParams p, ArrayView<ulong> weights, long w) => new()
        {
            S0 = Steps4.Load(p, weights, w, 0), S1 = Steps4.Load(p, weights, w, 4),
            S2 = Steps4.Load(p, weights, w, 8), S3 = Steps4.Load(p, weights, w, 12),
        };
    }

    /// <summary>Index of this lane's fragment word of n-tile 2·<paramref name="pair"/> in step 0 of <paramref name="tile"/>.</summary>
    static long PairFragments(GpuBlockParams p, int tile, int pair) => FragmentIndex(p, tile) + 64 * pair;

    static void NarrowBitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue(); // constants only until the Wait below
        var stage64 = SharedMemory.GetDynamic<ulong>();
        int warp = Group.IdxX >> 5, lane = Group.IdxX & 31, g = lane >> 2, t = lane & 3;
        int slices = p.TilePooled >> 4, quarters = (Group.DimX >> 5) / slices;
        int slice = warp / quarters, q = warp - slice * quarters, tile = Grid.IdxY;
        long first = (long)Grid.IdxX * p.TilePooled;
        int rows = p.Batch - first < p.TilePooled ? (int)(p.Batch - first) : p.TilePooled;
        // The class of a dense block's one output position, and this lane's threshold pairs of the tile (+ 8·pair + 4f).
        int cls = meta[p.RowOfOffset] * p.ColClasses + meta[p.ColOfOffset];
        long th = p.PairOffset / 4 + (long)cls * (p.PaddedK / 2) + tile * 32 + t;
        var pairs = meta.Cast<ThresholdPair>();
        var b = Steps16.Load(p, weights, PairFragments(p, tile, q));
        GpuDependentLaunch.Wait();
        Stage(p, input, stage64, first, rows);
        Group.Barrier();

        var stage = stage64.Cast<uint>();
        long rA = (long)(slice * 16 + g) * p.RowStride + t, rB = rA + 8L * p.RowStride;
        long nA = first + slice * 16 + g, nB = nA + 8;
        var pieces = outWords.Cast<ushort>();
        for (int pair = q; pair < Quarters; pair += quarters)
        {
            long w = PairFragments(p, tile, pair);
            if (pair != q) b = Steps16.Load(p, weights, w);
            var th0 = pairs[th + 8 * pair];
            var th1 = pairs[th + 8 * pair + 4];
            var acc = default(NarrowAcc);
            Product(p, weights, stage, rA, rB, w, ref b, ref acc);
            int popA = acc.Pop.C0, popB = acc.Pop.C2;
            // Channels 16·pair + 2t, +1 (n-tile X) → bits 2t, 2t+1 of the pair's 16-bit piece; + 8 (n-tile Y) → bits 8 + 2t, 9 + 2t.
            uint m0 = 1u << (2 * t), m1 = m0 << 1;
            uint bitsA = WideBitsEpilogue.Pair(th0, popA, acc.F0.C0, acc.F0.C1, m0, m1) | WideBitsEpilogue.Pair(th1, popA, acc.F1.C0, acc.F1.C1, m0 << 8, m1 << 8);
            uint bitsB = WideBitsEpilogue.Pair(th0, popB, acc.F0.C2, acc.F0.C3, m0, m1) | WideBitsEpilogue.Pair(th1, popB, acc.F1.C2, acc.F1.C3, m0 << 8, m1 << 8);
            bitsA = WideBitsEpilogue.OrQuad(bitsA);
            bitsB = WideBitsEpilogue.OrQuad(bitsB);
            // Each quarter of the output word from the warp that computed it: 16-bit stores, no barrier (little-endian:
            // piece `pair` of word (sample, tile) is channels 16·pair … +15 of the tile).
            if (t == 0 && nA < p.Batch) pieces[(nA * p.OutSample + tile) * 4 + pair] = (ushort)bitsA;
            if (t == 0 && nB < p.Batch) pieces[(nB * p.OutSample + tile) * 4 + pair] = (ushort)bitsB;
        }
    }

    /// <summary>The warp's 16 rows × 2 n-tiles over all steps: 16 steps of B fragments in registers (loaded by the caller),
    /// each set of 4 reloaded 16 steps further on once its MMAs are issued (only where the reduction goes on).</summary>
    static void Product(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, long rA, long rB, long w, ref Steps16 b, ref NarrowAcc acc)
    {
        for (int s = 0; s < p.KSteps; s += Ahead) // s itself against the bound (a loop ILGPU's unroller recognises)
        {
            Mma4(p, stage, rA, rB, s, b.S0, ref acc);
            if (s + Ahead < p.KSteps) b.S0 = Steps4.Load(p, weights, w, s + Ahead);
            Mma4(p, stage, rA, rB, s + 4, b.S1, ref acc);
            if (s + Ahead + 4 < p.KSteps) b.S1 = Steps4.Load(p, weights, w, s + Ahead + 4);
            Mma4(p, stage, rA, rB, s + 8, b.S2, ref acc);
            if (s + Ahead + 8 < p.KSteps) b.S2 = Steps4.Load(p, weights, w, s + Ahead + 8);
            Mma4(p, stage, rA, rB, s + 12, b.S3, ref acc);
            if (s + Ahead + 12 < p.KSteps) b.S3 = Steps4.Load(p, weights, w, s + Ahead + 12);
        }
    }

    /// <summary>Steps s..s+3 (those before the last step): A from the stage, 2 MMAs each, popc of the lane's A words. Four
    /// whole steps without a bound test each where they all exist (every set but a reduction's last).</summary>
    static void Mma4(GpuBlockParams p, ArrayView<uint> stage, long rA, long rB, int s, Steps4 b, ref NarrowAcc acc)
    {
        long u = 8L * s;
        if (s + 4 <= p.KSteps)
        {
            Step(stage, rA + u, rB + u, b.X0, b.Y0, ref acc);
            Step(stage, rA + u + 8, rB + u + 8, b.X1, b.Y1, ref acc);
            Step(stage, rA + u + 16, rB + u + 16, b.X2, b.Y2, ref acc);
            Step(stage, rA + u + 24, rB + u + 24, b.X3, b.Y3, ref acc);
        }
        else
        {
            if (s < p.KSteps) Step(stage, rA + u, rB + u, b.X0, b.Y0, ref acc);
            if (s + 1 < p.KSteps) Step(stage, rA + u + 8, rB + u + 8, b.X1, b.Y1, ref acc);
            if (s + 2 < p.KSteps) Step(stage, rA + u + 16, rB + u + 16, b.X2, b.Y2, ref acc);
        }
    }

    /// <summary>One step: this lane's A words of rows g (from <paramref name="a"/>) and g + 8 (<paramref name="b"/>), parts
    /// t and 4 + t. 64-bit stage offsets, so the step's constant +4/+8/… fold into the shared loads' immediates (with
    /// 32-bit ones ILGPU recomputed each address: ~8 more instructions per step in call 1's SASS). popc(a) by a third MMA
    /// against an all-ones B: one tensor instruction where POPC took 4 and 2 adds per step (call 1's kernel): at VGG3 b256
    /// 16 warps share each SM's issue slots (call 1: 6.6 µs there, 4.2 µs at b16 with the same work per warp), while the
    /// tensor pipe has room (fc1's MMAs are ~0.4 µs at peak).</summary>
    static void Step(ArrayView<uint> stage, long a, long b, ulong x, ulong y, ref NarrowAcc acc)
    {
        uint a0 = stage[a], a1 = stage[b], a2 = stage[a + 4], a3 = stage[b + 4];
        GpuMma.AndPopc(ref acc.F0, a0, a1, a2, a3, (uint)x, (uint)(x >> 32));
        GpuMma.AndPopc(ref acc.F1, a0, a1, a2, a3, (uint)y, (uint)(y >> 32));
        GpuMma.AndPopc(ref acc.Pop, a0, a1, a2, a3, ~0u, ~0u);
    }

    /// <summary>The group's samples' patches into the stage (row r at r·RowStride/2 words): a dense block's patch is the
    /// sample's whole input ([y][x][word], the weights' order), so the group's rows are ONE contiguous run of
    /// <paramref name="rows"/>·KWords input words, read coalesced, 8 loads per thread in flight before their stores; then
    /// zeros in the 0–3 words past each patch up to whole steps (popc and the MMAs read them). Rows past the batch are not
    /// written: their results are never stored.</summary>
    static void Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, long first, int rows)
    {
        int n = Group.DimX, stride = p.RowStride >> 1, words = p.KWords, total = rows * words;
        long src = first * p.InSample;
        // Word j of the run is row r = j / words, word c = j % words: two divisions per thread, then each stride of n
        // words advances (r, c) by (dr, dc) with one carry (call 1 divided once per word: ~20 instructions each).
        int dr = n / words, dc = n - dr * words, r = Group.IdxX / words, c = Group.IdxX - r * words;
        for (int j = Group.IdxX; j < total; j += 8 * n)
        {
            ulong v0 = Word(input, src, j, total), v1 = Word(input, src, j + n, total);
            ulong v2 = Word(input, src, j + 2 * n, total), v3 = Word(input, src, j + 3 * n, total);
            ulong v4 = Word(input, src, j + 4 * n, total), v5 = Word(input, src, j + 5 * n, total);
            ulong v6 = Word(input, src, j + 6 * n, total), v7 = Word(input, src, j + 7 * n, total);
            Put(stage, stride, words, dr, dc, ref r, ref c, j, total, v0);
            Put(stage, stride, words, dr, dc, ref r, ref c, j + n, total, v1);
            Put(stage, stride, words, dr, dc, ref r, ref c, j + 2 * n, total, v2);
            Put(stage, stride, words, dr, dc, ref r, ref c, j + 3 * n, total, v3);
            Put(stage, stride, words, dr, dc, ref r, ref c, j + 4 * n, total, v4);
            Put(stage, stride, words, dr, dc, ref r, ref c, j + 5 * n, total, v5);
            Put(stage, stride, words, dr, dc, ref r, ref c, j + 6 * n, total, v6);
            Put(stage, stride, words, dr, dc, ref r, ref c, j + 7 * n, total, v7);
        }
        int pad = 4 * p.KSteps - words;
        for (int i = Group.IdxX; i < rows * pad; i += n)
        {
            int pr = i / pad;
            stage[pr * stride + words + (i - pr * pad)] = 0;
        }
    }

    /// <summary>Input word j of the run (0 past its end; the index then stays at the run's first word, so the load is
    /// unconditional and the 8 of a round issue together).</summary>
    static ulong Word(ArrayView<ulong> input, long src, int j, int total)
    {
        bool inside = j < total;
        ulong v = input[src + (inside ? j : 0)];
        return inside ? v : 0;
    }

    /// <summary>Stores word j (row <paramref name="r"/>, word <paramref name="c"/>) when inside the run, then moves (r, c)
    /// on by the group's stride.</summary>
    static void Put(ArrayView<ulong> stage, int stride, int words, int dr, int dc, ref int r, ref int c, int j, int total, ulong v)
    {
        if (j < total) stage[r * stride + c] = v;
        r += dr;
        c += dc;
        if (c >= words)
        {
            c -= words;
            r++;
        }
    }
}
