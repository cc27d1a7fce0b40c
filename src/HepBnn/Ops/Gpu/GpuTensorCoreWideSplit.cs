using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide"/> with the reduction split over several groups (split-K) where the grid would be small:
/// at batch 1 VGG7's conv5/conv6 have one 64-row tile and 8 channel tiles, so 8 groups each ran all 9–18 MMA steps in a
/// chain of dependent L2 loads (4.4–8.2 µs per node on the H200, docs/results/h200-session6-final) while 120+ SMs idled.
/// Here group (row tile, channel tile, split) gathers and multiplies only its share of the steps (and its rows'
/// popc(a) over that share: the identity's sums are linear in the steps), adds its partial accumulators into zeroed
/// device scratch with atomics, and the last group of the (row tile, channel tile) to arrive — an atomic counter —
/// takes the sums (atomically, resetting them to 0 for the next run) and runs the usual bits epilogue. Where the grid is
/// already full, the output is scores or there are over <see cref="MaxEntries"/> tiles, it launches one split and runs
/// exactly <see cref="GpuTensorCoreWideDeep"/>. The profiler measures it beside the others and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreWideSplit : GpuTensorCoreWide
{
    /// <summary>(row tile, channel tile) pairs the scratch holds: VGG7 conv2 at batch 1 has 16 × 2.</summary>
    public const int MaxEntries = 64;
    /// <summary>Most groups one tile's reduction is split over.</summary>
    public const int MaxSplits = 8;
    /// <summary>Ints of one lane's partial sums: 8 fragments and popc(a), 4 each.</summary>
    const int LaneInts = 36;

    public override string Name => "gpu.tensor-core-wide-split";
    public override string Description => "gpu.tensor-core-wide with the reduction split over several groups where the grid is small (batch 1)";
    protected override GpuKernelMethod Bits => SplitBitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernelDeep;
    protected override int RegisterGroupsPerSm => 4;

    /// <summary>Counters, then per entry LaneInts × lanes ints of partial sums (as 64-bit words).</summary>
    private protected override int ExtraWeightWords(GpuBlockParams p) => (MaxEntries + MaxEntries * LaneInts * p.Lanes + 1) / 2;

    /// <summary>Where the scratch starts in the weights (64-bit words): after the fragments and their padding step.</summary>
    static long ScratchOffset(GpuBlockParams p) => (long)(p.PaddedK / 64) * p.KSteps * 256 + 512;

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        var config = base.Launch(ref p, batch, gpu);
        int rowTiles = config.GridDim.X, tiles = p.PaddedK / 64;
        int splits = Splits(p, rowTiles, tiles, gpu);
        if (splits == 1) return config;
        p.TilesPerGroup = 1;
        return new KernelConfig(new Index3D(rowTiles, tiles, splits), config.GroupDim, config.SharedMemoryConfig);
    }

    /// <summary>Groups per tile's reduction: enough to fill the GPU's resident slots, at least 2 steps each; 1 where the grid
    /// is full, for scores or past the scratch. On ILGPU's CPU accelerator min(3, steps), so the tests cover uneven shares.</summary>
    internal int Splits(GpuBlockParams p, int rowTiles, int tiles, GpuDevice gpu)
    {
        long entries = (long)rowTiles * tiles;
        if (p.ScoresOutput == 1 || p.KSteps < 2 || entries > MaxEntries) return 1;
        if (gpu.Accelerator.AcceleratorType != AcceleratorType.Cuda) return Math.Min(3, p.KSteps);
        long slots = (long)GroupsPerSm(p.RowStride, RegisterGroupsPerSm) * gpu.Accelerator.NumMultiprocessors;
        return (int)Math.Max(1, Math.Min(Math.Min(MaxSplits, p.KSteps / 2), slots / entries));
    }

    static void SplitBitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue(); // the wait follows the prologue (below, and in the deep kernel's body)
        if (Grid.DimZ == 1)
        {
            BitsKernelDeep(p, input, outWords, outHalves, outScores, weights, meta, poolAnd);
            return;
        }
        var stage64 = SharedMemory.GetDynamic<ulong>();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var bases = SharedMemory.Allocate<long>(TileRows.MaxRows);
        var masks = SharedMemory.Allocate<int>(TileRows.MaxRows);
        var last = SharedMemory.Allocate<int>(1);
        // Prologue (session constants only): rows, windows, the epilogue's table rows, pooling mask and this split's first
        // B fragments; the predecessor's output (gathers) and the scratch are touched only after the wait.
        var epilogue = new WideBitsEpilogue(p, meta, rows);
        var pairs = meta.Cast<ThresholdPair>();
        int tile = Grid.IdxY, splits = Grid.DimZ, s0 = Grid.IdxZ * p.KSteps / splits, s1 = (Grid.IdxZ + 1) * p.KSteps / splits;
        ulong andMask = poolAnd[tile];
        var b = Fragments8.Load(weights, FragmentIndex(p, tile) + 256L * s0);
        Windows(p, rows, bases, masks, Group.DimX / 2);
        Group.Barrier();
        GpuDependentLaunch.Wait();
        StageWords(p, input, stage64, bases, masks, 4 * s0, 4 * s1);
        Group.Barrier();
        var stage = stage64.Cast<uint>();
        var acc = default(MmaTile8);
        acc.Pop = RowPopcounts(p, stage, s0, s1);
        ProductSteps(p, weights, stage, tile, s0, s1, b, ref acc);

        // The partial sums meet in the scratch; the last group of this (row tile, channel tile) finishes the tile.
        var scratch = weights.SubView(ScratchOffset(p)).Cast<int>();
        int entry = Grid.IdxX * Grid.DimY + tile, n = Group.DimX;
        long at = MaxEntries + (long)entry * LaneInts * n + Group.IdxX;
        Add(scratch, at, n, 0, ref acc.F0); Add(scratch, at, n, 1, ref acc.F1); Add(scratch, at, n, 2, ref acc.F2);
        Add(scratch, at, n, 3, ref acc.F3); Add(scratch, at, n, 4, ref acc.F4); Add(scratch, at, n, 5, ref acc.F5);
        Add(scratch, at, n, 6, ref acc.F6); Add(scratch, at, n, 7, ref acc.F7); Add(scratch, at, n, 8, ref acc.Pop);
        if (!GpuLastGroup.Arrives(scratch, entry, splits, last)) return; // the epilogue's barriers see every thread or none
        MemoryFence.DeviceLevel();
        Take(scratch, at, n, 0, ref acc.F0); Take(scratch, at, n, 1, ref acc.F1); Take(scratch, at, n, 2, ref acc.F2);
        Take(scratch, at, n, 3, ref acc.F3); Take(scratch, at, n, 4, ref acc.F4); Take(scratch, at, n, 5, ref acc.F5);
        Take(scratch, at, n, 6, ref acc.F6); Take(scratch, at, n, 7, ref acc.F7); Take(scratch, at, n, 8, ref acc.Pop);
        epilogue.Store(p, outWords, pairs, rows, tile, andMask, ref acc);
    }

    /// <summary>Adds accumulator <paramref name="k"/> of this lane into the scratch ([k][part][lane]: coalesced).</summary>
    static void Add(ArrayView<int> scratch, long at, int lanes, int k, ref MmaAccumulator c)
    {
        long i = at + 4L * k * lanes;
        Atomic.Add(ref scratch[i], c.C0);
        Atomic.Add(ref scratch[i + lanes], c.C1);
        Atomic.Add(ref scratch[i + 2 * lanes], c.C2);
        Atomic.Add(ref scratch[i + 3 * lanes], c.C3);
    }

    /// <summary>Reads the summed accumulator <paramref name="k"/> of this lane and leaves zeros for the next run.</summary>
    static void Take(ArrayView<int> scratch, long at, int lanes, int k, ref MmaAccumulator c)
    {
        long i = at + 4L * k * lanes;
        c.C0 = Atomic.Exchange(ref scratch[i], 0);
        c.C1 = Atomic.Exchange(ref scratch[i + lanes], 0);
        c.C2 = Atomic.Exchange(ref scratch[i + 2 * lanes], 0);
        c.C3 = Atomic.Exchange(ref scratch[i + 3 * lanes], 0);
    }

    /// <summary>popc(a) of this lane's rows (g, g+8) over steps [s0, s1): the MMA against an all-ones B.</summary>
    static MmaAccumulator RowPopcounts(GpuBlockParams p, ArrayView<uint> stage, int s0, int s1)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        var pop = default(MmaAccumulator);
        for (int u = 8 * s0; u < 8 * s1; u += 8)
            GpuMma.AndPopc(ref pop, stage[rA + u], stage[rB + u], stage[rA + u + 4], stage[rB + u + 4], ~0u, ~0u);
        return pop;
    }

    /// <summary>The warp's 16 rows × 64 channels of <paramref name="tile"/> over steps [s0, s1), fragments one step ahead
    /// of their MMAs (the loads past s1 read the next step's words or the padding step: unused); <paramref name="b"/> holds
    /// step s0's, loaded by the caller before its wait.</summary>
    static void ProductSteps(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, int tile, int s0, int s1, Fragments8 b, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        long w = FragmentIndex(p, tile) + 256L * s0; // step s0's fragments: b, loaded in the prologue
        var a = FragmentsA.Load(stage, rA, rB, 8 * s0);
        for (int s = s0; s < s1; s++)
        {
            var nextB = Fragments8.Load(weights, w + 256);
            var nextA = FragmentsA.Load(stage, rA, rB, 8 * s + 8);
            Mma8(a, b, ref acc);
            a = nextA;
            b = nextB;
            w += 256;
        }
    }
}
