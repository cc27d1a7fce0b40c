using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Two dense blocks in ONE kernel: a binary dense block with bits output (VGG3's fc1, 3136 → 2048) followed by a dense
/// scores block of at most 64 classes (fc2, 2048 → 10). The first block runs exactly as <see cref="GpuTensorCoreWideDeep"/>
/// (same grid, staged patches, fragments two steps ahead, <see cref="WideBitsEpilogue"/>) into a device buffer of its
/// own; then each group counts itself done on an atomic counter per row tile, and the last group of a row tile (all its
/// channel tiles stored, device fences on both sides) computes the scores of those rows: each warp its 16 rows, A
/// fragments straight from the buffer (no staging: the rows are 64 consecutive samples, the patch is the sample's
/// words), B fragments from the weights, the loads of 8 steps issued before their MMAs, popc(a) by the MMA against an
/// all-ones B, scores as in <see cref="GpuTensorCore.RowScores"/>, gathered in shared memory and stored as one coalesced
/// run per row tile; it resets the counter for the next run, as gpu.tensor-core-wide-split does with its scratch.
/// Why: at batch 256 on the H200 fc2's own node cost 3.1 µs (gpu.warp-reduce; 6.1 µs on the tensor cores) for ~0.1 µs of
/// MMA work. Measured (docs/results/h200-fc3): the count costs 0.4 µs, the scores tail ~3 µs — about what fc2's node
/// did — so VGG3 b256 runs as fast as with two kernels, not faster. Not a per-block configuration: <see cref="GpuFused"/>
/// runs a two-block range through it where <see cref="RangeRefusal"/> accepts the pair (the planner prices that range by
/// its own measurement).
/// </summary>
public sealed class GpuTensorCoreDensePair : GpuTensorCoreWide
{
    /// <summary>Measuring only (<c>HEPBNN_PAIR_PROBE</c>, <see cref="EnvironmentSwitches.DensePairProbe"/>; results then
    /// WRONG): 1 = the first block alone (no count, no scores), 2 = the first block and the count, no scores; 0 (default) =
    /// the kernel. A static readonly: ILGPU folds it.</summary>
    static readonly int Probe = EnvironmentSwitches.DensePairProbe;

    /// <summary>Whether the scores go through shared memory and out as one coalesced run per row tile (default, where the
    /// stage holds them, <see cref="CanStage"/>) instead of each lane storing its own (<c>HEPBNN_PAIR_STORE=direct</c>).
    /// With the scores in mapped host memory the lanes' own stores (32-byte pieces of 8 rows per instruction, over PCIe)
    /// made VGG3 b256 3–4 µs slower (H200: 50.4/51.6 µs against 46.5/48.3 staged, docs/results/h200-fc3/call2).</summary>
    public static bool StagedScoresDefault => EnvironmentSwitches.StagedPairScores;

    /// <summary>Steps of the scores block whose A and B loads are issued together, before their MMAs.</summary>
    const int TailChunk = 8;

    public override string Name => "gpu.fused/dense-pair";
    public override string Description => "a dense bits block and a dense scores block in one tensor-core kernel (the last group of a row tile computes the scores)";
    protected override GpuKernelMethod Bits => BitsKernelDeep;     // per-block use is refused (Refusal): a range configuration
    protected override GpuKernelMethod Scores => ScoresKernelDeep;
    protected override int RegisterGroupsPerSm => 4;               // the deep kernel's body (100 registers)

    public override string? Refusal(Block block) => "a two-block range configuration (gpu.fused runs dense pairs through it)";

    /// <summary>Why blocks <paramref name="blocks"/> cannot run as one dense pair (null when they can): two consecutive
    /// dense blocks, the first with bits output and no pooling on <see cref="GpuTensorCoreWide"/>'s terms, the second
    /// with scores of at most 64 classes.</summary>
    public static string? RangeRefusal(IReadOnlyList<Block> blocks)
    {
        if (blocks.Count != 2) return "not two blocks";
        Block a = blocks[0], b = blocks[1];
        if (b.Index != a.Index + 1) return "not consecutive blocks";
        if (!a.IsDense || a.HasPool || a.Output != BlockOutput.Bits || a.Input != BlockInput.Bits) return $"{a.Name} is not a dense block of bits to bits without pooling";
        if (!b.IsDense || b.HasPool || b.Output != BlockOutput.Scores || b.Input != BlockInput.Bits) return $"{b.Name} is not a dense block of bits to scores";
        if (b.OutChannels > 64) return $"{b.Name} has {b.OutChannels} classes (one 64-channel tile at most)";
        return Wide.Refusal(a) ?? Wide.Refusal(b);
    }

    static readonly GpuTensorCoreWide Wide = new();

    /// <summary>The runner of <paramref name="blocks"/> (<see cref="RangeRefusal"/> must accept them).</summary>
    internal GpuDensePairRange PrepareRange(IKernelConfiguration configuration, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch, bool? stagedScores = null)
    {
        if (RangeRefusal(blocks) is { } why) throw new HepBnnException($"{Name}: blocks {blocks[0].Name}..{blocks[^1].Name}: {why}");
        var kernel = gpu.Kernel<GpuDensePairLauncher>(Name, a => a.LoadKernel<GpuBlockParams, GpuBlockParams, ArrayView<ulong>, ArrayView<ulong>,
            ArrayView<int>, ArrayView<ulong>, ArrayView<int>, ArrayView<ulong>, ArrayView<ulong>, ArrayView<int>, ArrayView<int>, int>(PairKernel));
        var first = CreateData(gpu, blocks[0], Specialize(GpuBlockParams.From(blocks[0]), gpu));
        GpuBlockData? second = null;
        try
        {
            var q = Specialize(GpuBlockParams.From(blocks[1]), gpu);
            var tables = new CpuBlockData(blocks[1], 0, 0);
            q = GpuTensorCore.WithOffsets(q, tables);
            var meta = GpuTensorCore.Meta(blocks[1], q, tables);
            // A dense block has one border class (conv pixel 0, 0): the tail reads that class's row of the table directly
            // instead of looking the class up (two dependent loads less after the last group's wait).
            q.ValueOffset += (meta[q.RowOfOffset] * q.ColClasses + meta[q.ColOfOffset]) * q.PaddedK;
            var fragments = GpuTensorCore.Fragments(blocks[1].PackedWeights!, blocks[1].OutChannels, q);
            Array.Resize(ref fragments, fragments.Length + TailChunk * 256); // a last chunk's loads past the steps read zeros
            second = new GpuBlockData(gpu, blocks[1], q, (fragments, meta, [0UL]));
            bool staged = (stagedScores ?? StagedScoresDefault) && CanStage(first.Params, q);
            return new GpuDensePairRange(configuration, this, gpu, blocks, maxBatch, kernel, first, second, staged);
        }
        catch
        {
            first.Dispose();
            second?.Dispose();
            throw;
        }
    }

    /// <summary>Whether a row tile's scores fit in the first block's stage (ints: 64 rows × RowStride units + the slack).</summary>
    internal static bool CanStage(GpuBlockParams p, GpuBlockParams q) =>
        (long)q.TilePooled * q.OutSample <= 2L * (TileRows.MaxRows * p.RowStride / 2 + StageSlack);

    /// <summary>Grid and group for <paramref name="batch"/>: the deep kernel's.</summary>
    internal KernelConfig LaunchFor(ref GpuBlockParams p, int batch, GpuDevice gpu) => Launch(ref p, batch, gpu);

    /// <summary>Row tiles of the first block at <paramref name="batch"/> (one counter each).</summary>
    internal static int RowTiles(GpuBlockParams p, int batch) => (batch + p.TilePooled - 1) / p.TilePooled;

    static void PairKernel(GpuBlockParams p, GpuBlockParams q, ArrayView<ulong> input, ArrayView<ulong> mid, ArrayView<int> outScores,
        ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd, ArrayView<ulong> weights2, ArrayView<int> meta2, ArrayView<int> counters, int stagedScores)
    {
        GpuDependentLaunch.Prologue(); // Start waits for the predecessor after the prologue
        // The first block: gpu.tensor-core-wide-deep's bits body (prologue, wait, gathers, product, epilogue per tile).
        var stage64 = SharedMemory.GetDynamic<ulong>();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var last = SharedMemory.Allocate<int>(1);
        var epilogue = new WideBitsEpilogue(p, meta, rows);
        var pairs = meta.Cast<ThresholdPair>();
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        ulong andMask = poolAnd[first];
        var b0 = StepZero(p, weights, first);
        var stage = Start(p, input, stage64, rows, out var pop);
        for (int tile = first; tile < end; tile++)
        {
            if (tile > first)
            {
                andMask = poolAnd[tile];
                b0 = StepZero(p, weights, tile);
            }
            var b1 = StepOne(p, weights, tile, true);
            var acc = default(MmaTile8);
            acc.Pop = pop;
            ProductDeep(p, weights, stage, tile, b0, b1, ref acc);
            if (tile > first) Group.Barrier(); // the previous tile's pooling has read the rows' bits
            epilogue.Store(p, mid, pairs, rows, tile, andMask, ref acc);
        }

        if (Probe == 1) return; // measuring only: the first block alone
        // This group's words are in before it counts itself done; the last group of the row tile goes on.
        if (!GpuLastGroup.Arrives(counters, Grid.IdxX, Grid.DimY, last) || Probe == 2) return; // probe 2, measuring only: no scores
        MemoryFence.DeviceLevel();
        ScoresTail(q, mid.Cast<uint>(), outScores, weights2, meta2, rows, stage64.Cast<int>(), stagedScores);
    }

    /// <summary>The second block's scores for the warp's 16 rows (the first block's rows: the same samples), all channels
    /// in pairs of n-tiles; A from the first block's output (32-bit units 8s + t and 8s + 4 + t of each row), zeros for
    /// empty rows and past the patch.</summary>
    static void ScoresTail(GpuBlockParams q, ArrayView<uint> mid, ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, TileRows rows,
        ArrayView<int> stage, int staged)
    {
        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        int nA = rows.N[r], nB = rows.N[r + 8], units = 2 * q.KWords - t; // the lane's units are u + t: valid while u < units
        long rowA = nA < 0 ? -1 : (long)nA * q.InSample * 2 + t, rowB = nB < 0 ? -1 : (long)nB * q.InSample * 2 + t;
        int tiles = (q.K + 7) / 8;
        for (int f = 0; f < tiles; f += 2)
        {
            var pop = default(MmaAccumulator);
            var c0 = default(MmaAccumulator);
            var c1 = default(MmaAccumulator);
            long w = 32 * f + lane; // channel tile 0, step 0, n-tile f
            for (int s = 0; s < q.KSteps; s += TailChunk)
            {
                // The chunk's 32 A and 16 B registers are loaded before its MMAs: one round trip per 8 steps (VGG3's fc2: one).
                int u = 8 * s;
                var a0 = FragmentsA4.Load(mid, rowA, rowB, u, units);
                var a1 = FragmentsA4.Load(mid, rowA, rowB, u + 8, units);
                var a2 = FragmentsA4.Load(mid, rowA, rowB, u + 16, units);
                var a3 = FragmentsA4.Load(mid, rowA, rowB, u + 24, units);
                var a4 = FragmentsA4.Load(mid, rowA, rowB, u + 32, units);
                var a5 = FragmentsA4.Load(mid, rowA, rowB, u + 40, units);
                var a6 = FragmentsA4.Load(mid, rowA, rowB, u + 48, units);
                var a7 = FragmentsA4.Load(mid, rowA, rowB, u + 56, units);
                long ws = w + 256L * s;
                ulong b00 = weights[ws], b01 = weights[ws + 32], b10 = weights[ws + 256], b11 = weights[ws + 288];
                ulong b20 = weights[ws + 512], b21 = weights[ws + 544], b30 = weights[ws + 768], b31 = weights[ws + 800];
                ulong b40 = weights[ws + 1024], b41 = weights[ws + 1056], b50 = weights[ws + 1280], b51 = weights[ws + 1312];
                ulong b60 = weights[ws + 1536], b61 = weights[ws + 1568], b70 = weights[ws + 1792], b71 = weights[ws + 1824];
                a0.Mma(ref pop, ref c0, ref c1, b00, b01);
                a1.Mma(ref pop, ref c0, ref c1, b10, b11);
                a2.Mma(ref pop, ref c0, ref c1, b20, b21);
                a3.Mma(ref pop, ref c0, ref c1, b30, b31);
                a4.Mma(ref pop, ref c0, ref c1, b40, b41);
                a5.Mma(ref pop, ref c0, ref c1, b50, b51);
                a6.Mma(ref pop, ref c0, ref c1, b60, b61);
                a7.Mma(ref pop, ref c0, ref c1, b70, b71);
            }
            int k = 8 * f + 2 * t;
            if (staged != 0)
            {
                Store(q, stage, meta, nA < 0 ? -1 : r, k, pop.C0, c0.C0, c0.C1, c1.C0, c1.C1);
                Store(q, stage, meta, nB < 0 ? -1 : r + 8, k, pop.C2, c0.C2, c0.C3, c1.C2, c1.C3);
            }
            else
            {
                Store(q, outScores, meta, nA, k, pop.C0, c0.C0, c0.C1, c1.C0, c1.C1);
                Store(q, outScores, meta, nB, k, pop.C2, c0.C2, c0.C3, c1.C2, c1.C3);
            }
        }
        if (staged == 0) return;
        // The tile's rows are consecutive samples and a sample's scores are contiguous ([n][K]): the group's scores are one
        // run of ints, stored with consecutive threads on consecutive ints (the scores may be host memory, over PCIe).
        Group.Barrier();
        int n0 = rows.N[0], count = n0 < 0 ? 0 : (q.Batch - n0 < q.TilePooled ? q.Batch - n0 : q.TilePooled) * q.OutSample;
        long o = (long)n0 * q.OutSample;
        for (int i = Group.IdxX; i < count; i += Group.DimX) outScores[o + i] = stage[i];
    }

    /// <summary>Scores of channels k, k+1 (n-tile f) and k+8, k+9 (n-tile f+1) of sample <paramref name="n"/>: as
    /// <see cref="GpuTensorCore.RowScores"/>, (Corr − 2·popc(w)) − 2·popc(a) + 4·popc(a ∧ w), the class's row of the table
    /// at <see cref="GpuBlockParams.ValueOffset"/> (moved there at set-up).</summary>
    static void Store(GpuBlockParams q, ArrayView<int> outScores, ArrayView<int> meta, int n, int k, int pop, int x0, int x1, int x8, int x9)
    {
        if (n < 0) return;
        long o = (long)n * q.OutSample + k, v = q.ValueOffset + k;
        if (k < q.K) outScores[o] = meta[v] - 2 * pop + 4 * x0;
        if (k + 1 < q.K) outScores[o + 1] = meta[v + 1] - 2 * pop + 4 * x1;
        if (k + 8 < q.K) outScores[o + 8] = meta[v + 8] - 2 * pop + 4 * x8;
        if (k + 9 < q.K) outScores[o + 9] = meta[v + 9] - 2 * pop + 4 * x9;
    }

    /// <summary>One step's A fragment of this lane read from global memory: rows g (unit offset rowA) and g+8 (rowB), parts t
    /// and 4+t; zero for an empty row (offset −1) or units past the patch. Branch-free, so a chunk's loads stay in flight together.</summary>
    struct FragmentsA4
    {
        public uint A0, A1, A2, A3;

        public static FragmentsA4 Load(ArrayView<uint> mid, long rowA, long rowB, int u, int units) => new()
        {
            A0 = Word(mid, rowA, u, units), A1 = Word(mid, rowB, u, units),
            A2 = Word(mid, rowA, u + 4, units), A3 = Word(mid, rowB, u + 4, units),
        };

        /// <summary>popc(a) against all ones, and the two n-tiles' products.</summary>
        public readonly void Mma(ref MmaAccumulator pop, ref MmaAccumulator c0, ref MmaAccumulator c1, ulong b0, ulong b1)
        {
            GpuMma.AndPopc(ref pop, A0, A1, A2, A3, ~0u, ~0u);
            GpuMma.AndPopc(ref c0, A0, A1, A2, A3, (uint)b0, (uint)(b0 >> 32));
            GpuMma.AndPopc(ref c1, A0, A1, A2, A3, (uint)b1, (uint)(b1 >> 32));
        }

        static uint Word(ArrayView<uint> mid, long row, int u, int units)
        {
            bool ok = row >= 0 & u < units;
            uint v = mid[ok ? row + u : 0];
            return ok ? v : 0u;
        }
    }
}
