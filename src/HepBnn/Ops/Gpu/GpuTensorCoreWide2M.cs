using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide"/> with register blocking over two m16 row tiles: a warp computes 32 rows × 64 channels
/// (16 m16n8 accumulators), so each B (weight) fragment loaded from global memory feeds two MMAs instead of one and a
/// step issues 16 independent MMAs. The group is 2 warps of 64 rows (one thread per row; the same 64-row stage, rows
/// and tiles per group as the wide kernel), so the weights are loaded by 2 warps per group instead of 4: half the
/// B-load instructions and L1 traffic per MMA, which bound the wide kernel (Nsight Compute, docs/results/h200-mma-b256:
/// conv2 73% L1 throughput, conv4–conv6 stalled on the weights' loads). Same outputs, refusals and constants.
/// On the H200 at batch 256 the profiler kept it for VGG7's conv2, conv4, conv5 and conv6 and VGG3's conv2
/// (docs/results/h200-mmafrac); since docs/results/h200-mma30 VGG7's go to its 128-register build
/// (<see cref="GpuTensorCoreWide2MR128"/>: conv2–conv4) and to <see cref="GpuTensorCoreWide4W"/> (conv5, conv6). Variants measured there and dropped, slower on every block: the weights two steps ahead
/// (134–138 registers, no more resident groups) and one set of weight fragments reloaded after use (140 registers:
/// ptxas did not spend fewer).
/// </summary>
public class GpuTensorCoreWide2M : GpuTensorCoreWide
{
    public override string Name => "gpu.tensor-core-wide-2m";
    public override string Description => "gpu.tensor-core-wide with two m16 row tiles per warp sharing each weight fragment";
    protected override GpuKernelMethod Bits => BitsKernel2M;
    protected override GpuKernelMethod Scores => ScoresKernel2M;
    /// <summary>Resident 64-thread groups per multiprocessor by registers: 140 registers per thread (ptxas on sm_90,
    /// docs/results/h200-mmafrac/call2; 144 allocated, so 3 warps in each quarter's 16K registers, 12 in all: Nsight
    /// Compute's block limit 6).</summary>
    protected override int RegisterGroupsPerSm => 6;
    /// <summary>A whole tile-time per group for the gathers, not the wide kernel's half: 64 threads gather the 64 rows'
    /// patches (call 1: conv3/conv4 at one tile per group ran 1.4x slower than the wide kernel at four).</summary>
    protected override double GatherTiles => 1.0;

    const int Warps = 2;

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        return GpuTensorCore.WithWarps(base.Specialize(p, gpu), gpu, Warps, 32); // one thread per row
    }

    static void BitsKernel2M(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        BitsBody(p, input, outWords, weights, meta, poolAnd, lean: false);
    }

    static void ScoresKernel2M(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        ScoresBody(p, input, outScores, weights, meta, lean: false);
    }

    /// <summary>The lean bits kernel: the patches gathered a row per thread (<see cref="GpuWideRowGather"/>), the rows'
    /// popcounts by POPC (<see cref="GpuWideRowPopcounts"/>) and the thresholds read at immediate offsets from a view of
    /// each row's pairs; for
    /// <see cref="GpuTensorCoreWide2MLean"/>.</summary>
    private protected static void BitsKernel2MLean(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        BitsBody(p, input, outWords, weights, meta, poolAnd, lean: true);
    }

    /// <summary>The lean scores kernel: the row gather and the rows' popcounts by POPC.</summary>
    private protected static void ScoresKernel2MLean(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        ScoresBody(p, input, outScores, weights, meta, lean: true);
    }

    /// <summary>The group's preamble: rows (one per thread), windows, the patches gathered into the stage, and the
    /// popcounts of this lane's rows in both m16 tiles (<paramref name="lean"/>, a constant per kernel: gathered a row
    /// per thread and counted by POPC, else gathered a word column per lane and counted by MMAs).</summary>
    private protected static ArrayView<uint> Start(GpuBlockParams p, ArrayView<ulong> input, TileRows rows, out MmaAccumulator popLo, out MmaAccumulator popHi, bool lean)
    {
        var stage64 = SharedMemory.GetDynamic<ulong>();
        var bases = SharedMemory.Allocate<long>(TileRows.MaxRows);
        var masks = SharedMemory.Allocate<int>(TileRows.MaxRows);
        Windows(p, rows, bases, masks, Group.DimX);
        if (lean)
        {
            var table = SharedMemory.Allocate<long>(GpuWideRowGather.TableWords);
            GpuWideRowGather.FillTable(p, table);
            Group.Barrier();
            GpuWideRowGather.Stage(p, input, stage64, bases, masks, table);
        }
        else
        {
            Group.Barrier();
            StagePatches32(p, input, stage64, bases, masks);
        }
        Group.Barrier();
        var stage = stage64.Cast<uint>();
        if (lean) GpuWideRowPopcounts.Count(p, stage, Wide2MBitsEpilogue.FirstRow(), out popLo, out popHi);
        else RowPopcounts(p, stage, Wide2MBitsEpilogue.FirstRow(), out popLo, out popHi);
        return stage;
    }

    static void BitsBody(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<ulong> weights,
        ArrayView<int> meta, ArrayView<ulong> poolAnd, bool lean)
    {
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows), Group.DimX);
        var epilogue = new Wide2MBitsEpilogue(p, meta, rows);
        var pairs = meta.Cast<ThresholdPair>();
        var stage = Start(p, input, rows, out var popLo, out var popHi, lean);
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        for (int tile = first; tile < end; tile++)
        {
            var lo = default(MmaTile8);
            var hi = default(MmaTile8);
            lo.Pop = popLo;
            hi.Pop = popHi;
            Product(p, weights, stage, tile, Wide2MBitsEpilogue.FirstRow(), ref lo, ref hi);
            ulong andMask = poolAnd[tile]; // after the product: not live through it
            if (tile > first) Group.Barrier(); // the previous tile's pooling has read the rows' bits
            epilogue.Store(p, outWords, pairs, rows, tile, andMask, ref lo, ref hi, rowView: lean);
        }
    }

    static void ScoresBody(GpuBlockParams p, ArrayView<ulong> input, ArrayView<int> outScores, ArrayView<ulong> weights,
        ArrayView<int> meta, bool lean)
    {
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows), Group.DimX);
        var stage = Start(p, input, rows, out var popLo, out var popHi, lean);
        int r = Wide2MBitsEpilogue.FirstRow(), t = Group.IdxX & 3;
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        for (int tile = first; tile < end; tile++)
        {
            var lo = default(MmaTile8);
            var hi = default(MmaTile8);
            Product(p, weights, stage, tile, r, ref lo, ref hi);
            int k = tile * 64 + 2 * t;
            TileScores(p, outScores, meta, rows, r, popLo, k, ref lo);
            TileScores(p, outScores, meta, rows, r + 16, popHi, k, ref hi);
        }
    }

    /// <summary>Scores of rows g and g+8 of one m16 tile.</summary>
    internal static void TileScores(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> meta, TileRows rows, int r, MmaAccumulator pop, int k,
        ref MmaTile8 a)
    {
        GpuTensorCore.RowScores(p, outScores, meta, rows, r, pop.C0, k, a.F0.C0, a.F0.C1, a.F1.C0, a.F1.C1,
            a.F2.C0, a.F2.C1, a.F3.C0, a.F3.C1, a.F4.C0, a.F4.C1, a.F5.C0, a.F5.C1, a.F6.C0, a.F6.C1, a.F7.C0, a.F7.C1);
        GpuTensorCore.RowScores(p, outScores, meta, rows, r + 8, pop.C2, k, a.F0.C2, a.F0.C3, a.F1.C2, a.F1.C3,
            a.F2.C2, a.F2.C3, a.F3.C2, a.F3.C3, a.F4.C2, a.F4.C3, a.F5.C2, a.F5.C3, a.F6.C2, a.F6.C3, a.F7.C2, a.F7.C3);
    }

    /// <summary>The rows' patches into the stage as in the wide kernel, 32 rows per warp: each thread one word column per
    /// 32 and the rows r, r + warps, …, all 32 loads of a word column issued before their stores (call 1 of
    /// docs/results/h200-mmafrac: with four runs of 8, a 64-thread group waited on 4 global round trips per column and
    /// conv3/conv4 ran slower than on the wide kernel).</summary>
    internal static void StagePatches32(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, ArrayView<long> bases, ArrayView<int> masks)
    {
        int col = Group.IdxX & 31, warps = Group.DimX >> 5, words = p.KSteps * 4, stride = p.RowStride >> 1, r = Group.IdxX >> 5;
        for (int kw = col; kw < words; kw += 32)
        {
            int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
            int sy = kw < p.KWords ? 16 + ky : 31, sx = kx; // past the patch: bit 31, never set
            int off = (ky * p.InW + kx) * p.InWords + wd;
            var v0 = Words8.Load(input, bases, masks, r, warps, sy, sx, off);
            var v1 = Words8.Load(input, bases, masks, r + 8 * warps, warps, sy, sx, off);
            var v2 = Words8.Load(input, bases, masks, r + 16 * warps, warps, sy, sx, off);
            var v3 = Words8.Load(input, bases, masks, r + 24 * warps, warps, sy, sx, off);
            int at = r * stride + kw, step = warps * stride;
            v0.Store(stage, at, step);
            v1.Store(stage, at + 8 * step, step);
            v2.Store(stage, at + 16 * step, step);
            v3.Store(stage, at + 24 * step, step);
        }
    }

    /// <summary>One patch word of 8 rows r, r + warps, … r + 7·warps.</summary>
    struct Words8
    {
        ulong _0, _1, _2, _3, _4, _5, _6, _7;

        public static Words8 Load(ArrayView<ulong> input, ArrayView<long> bases, ArrayView<int> masks, int r, int warps, int sy, int sx, int off) => new()
        {
            _0 = Gather(input, bases, masks, r, sy, sx, off),
            _1 = Gather(input, bases, masks, r + warps, sy, sx, off),
            _2 = Gather(input, bases, masks, r + 2 * warps, sy, sx, off),
            _3 = Gather(input, bases, masks, r + 3 * warps, sy, sx, off),
            _4 = Gather(input, bases, masks, r + 4 * warps, sy, sx, off),
            _5 = Gather(input, bases, masks, r + 5 * warps, sy, sx, off),
            _6 = Gather(input, bases, masks, r + 6 * warps, sy, sx, off),
            _7 = Gather(input, bases, masks, r + 7 * warps, sy, sx, off),
        };

        public readonly void Store(ArrayView<ulong> stage, int at, int step)
        {
            stage[at] = _0;
            stage[at + step] = _1;
            stage[at + 2 * step] = _2;
            stage[at + 3 * step] = _3;
            stage[at + 4 * step] = _4;
            stage[at + 5 * step] = _5;
            stage[at + 6 * step] = _6;
            stage[at + 7 * step] = _7;
        }
    }

    /// <summary>popc(a) of this lane's rows in both m16 tiles (<paramref name="firstRow"/>: the lane's row g in the
    /// stage): MMAs against an all-ones B.</summary>
    internal static void RowPopcounts(GpuBlockParams p, ArrayView<uint> stage, int firstRow, out MmaAccumulator lo, out MmaAccumulator hi)
    {
        int rA = firstRow * p.RowStride + (Group.IdxX & 3), rB = rA + 8 * p.RowStride;
        int rC = rA + 16 * p.RowStride, rD = rA + 24 * p.RowStride;
        lo = default;
        hi = default;
        for (int u = 0; u < 8 * p.KSteps; u += 8)
        {
            var a = LoadA(stage, rA + u, rB + u);
            var b = LoadA(stage, rC + u, rD + u);
            GpuMma.AndPopc(ref lo, a.A0, a.A1, a.A2, a.A3, ~0u, ~0u);
            GpuMma.AndPopc(ref hi, b.A0, b.A1, b.A2, b.A3, ~0u, ~0u);
        }
    }

    /// <summary>The warp's 32 rows × 64 channels of tile <paramref name="tile"/>: per step one set of 8 B fragments (from
    /// global memory) and the A fragments of both m16 tiles (from the stage), one step ahead of the step's 16 MMAs; two
    /// steps per iteration so no register moves carry the fragments (as <see cref="GpuTensorCoreWide"/>'s product).</summary>
    internal static void Product(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, int tile, int firstRow,
        ref MmaTile8 lo, ref MmaTile8 hi)
    {
        int rA = firstRow * p.RowStride + (Group.IdxX & 3), rB = rA + 8 * p.RowStride;
        int rC = rA + 16 * p.RowStride, rD = rA + 24 * p.RowStride;
        long w = (long)tile * p.KSteps * 256 + (Group.IdxX & 31);
        var even = Fragments8.Load(weights, w);
        var loEven = LoadA(stage, rA, rB);
        var hiEven = LoadA(stage, rC, rD);
        int s = 0;
        for (; s + 1 < p.KSteps; s += 2)
        {
            var odd = Fragments8.Load(weights, w + 256);
            var loOdd = LoadA(stage, (long)(rA + 8 * s) + 8, (long)(rB + 8 * s) + 8);
            var hiOdd = LoadA(stage, (long)(rC + 8 * s) + 8, (long)(rD + 8 * s) + 8);
            Mma8(loEven, even, ref lo);
            Mma8(hiEven, even, ref hi);
            w += 512;
            even = Fragments8.Load(weights, w);
            loEven = LoadA(stage, (long)(rA + 8 * s) + 16, (long)(rB + 8 * s) + 16);
            hiEven = LoadA(stage, (long)(rC + 8 * s) + 16, (long)(rD + 8 * s) + 16);
            Mma8(loOdd, odd, ref lo);
            Mma8(hiOdd, odd, ref hi);
        }
        if (s < p.KSteps) // an odd step count: the last one
        {
            Mma8(loEven, even, ref lo);
            Mma8(hiEven, even, ref hi);
        }
    }

    /// <summary>One step's A fragment of this lane (see GpuTensorCoreWide's FragmentsA) at 32-bit stage offsets
    /// <paramref name="ra"/> (row g) and <paramref name="rb"/> (row g+8): 64-bit offsets, so the loads' +4 (and a step's
    /// +8) fold into immediate offsets (call 1's PTX had an add and a widening multiply per 32-bit-indexed load).</summary>
    static FragmentsA LoadA(ArrayView<uint> stage, long ra, long rb) => new()
    {
        A0 = stage[ra], A1 = stage[rb], A2 = stage[ra + 4], A3 = stage[rb + 4],
    };
}

