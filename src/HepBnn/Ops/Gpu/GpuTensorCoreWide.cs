using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Binary conv/dense blocks on the 1-bit tensor cores like <see cref="GpuTensorCore"/> (same rows, fragments, identity
/// and fused epilogue), but a group gathers its 64 rows' whole patches into shared memory once and then computes
/// several 64-channel tiles from them (all of the block's tiles where the grid stays full enough), instead of one group
/// per (row tile, channel tile) each gathering the patches again and staging its weights through shared memory. The
/// weights' B fragments are read straight from global memory (coalesced 64-bit loads per lane, the next step's
/// fragments loaded before this step's MMAs), the rows' popc(a) computed once per group. Refuses 8-bit image blocks
/// (gpu.tensor-core has the byte MMA for them) and patches over <see cref="MaxPatchWords"/> words (the stage is static).
/// </summary>
public sealed class GpuTensorCoreWide : GpuConfiguration
{
    /// <summary>Largest patch (64-bit words, padded to whole MMA steps) the stage holds: VGG7's 3×3×512 is 72.</summary>
    public const int MaxPatchWords = 80;
    const int MaxWarps = 4, MaxRowStride = 2 * MaxPatchWords + 4, MaxWindow = 32;

    public override string Name => "gpu.tensor-core-wide";
    public override string Description => "1-bit tensor-core implicit GEMM, whole patches staged once per group for several 64-channel tiles";
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    public override bool Supports(Block block) => Refusal(block) is null;

    public override string? Refusal(Block block)
    {
        if (block.Input == BlockInput.Image) return "8-bit image blocks (gpu.tensor-core runs them on the byte MMA)";
        int words = (block.KernelH * block.KernelW * block.InputWords + 3) & ~3;
        if (words > MaxPatchWords) return $"patches of {words} words (the stage holds {MaxPatchWords})";
        if (block.Output == BlockOutput.Scores && block.HasPool) return "pooled scores";
        if (block.HasPool && block.PoolSize * block.PoolSize > MaxWindow) return $"pooling windows over {MaxWindow} conv outputs";
        if (!CpuBlockData.Fits(block)) return "border-class tables too large";
        return null;
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p.KWords = p.KH * p.KW * p.InWords;
        p.KSteps = (p.KWords + 3) / 4;
        p.YSign = 1;
        p.RowStride = 8 * p.KSteps + 4; // 4 more than the patch: the 8 rows of a fragment load fall in different banks
        p.Lanes = Math.Min(MaxWarps, gpu.Accelerator.MaxNumThreadsPerGroup / 32) * 32;
        p.TilePooled = p.Lanes / 2 / (p.Pool * p.Pool); // 16 rows per warp
        p.PaddedK = (p.K + 63) & ~63;
        return p;
    }

    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p) => GpuTensorCore.Data(gpu, block, p);

    /// <summary>Resident groups per multiprocessor: the 43 KB stage allows 5 (ptxas on sm_90: 72 registers, 43,264 bytes of
    /// shared memory per group; docs/results/h200-mma/README.md).</summary>
    const int GroupsPerSm = 5;

    /// <summary>Channel tiles per group: the count with the fewest tile-times in all, counting whole rounds of resident
    /// groups (a last round only partly full costs a full one) and half a tile per group for its gathers. On ILGPU's CPU
    /// accelerator always 2, so the tests cover a group with several tiles and a group starting past tile 0.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        long pooled = (long)batch * p.OutH * p.OutW;
        int rowTiles = checked((int)((pooled + p.TilePooled - 1) / p.TilePooled)), tiles = p.PaddedK / 64;
        int per = gpu.Accelerator.AcceleratorType == AcceleratorType.Cuda
            ? TilesPerGroup(rowTiles, tiles, GroupsPerSm * gpu.Accelerator.NumMultiprocessors)
            : Math.Min(2, tiles);
        p.TilesPerGroup = per;
        return new KernelConfig(new Index3D(rowTiles, (tiles + per - 1) / per, 1), new Index3D(p.Lanes, 1, 1));
    }

    internal static int TilesPerGroup(int rowTiles, int tiles, int slots)
    {
        int best = 1;
        double bestCost = double.MaxValue;
        for (int per = 1; per <= tiles; per++)
        {
            long groups = (long)rowTiles * ((tiles + per - 1) / per);
            double cost = (groups + slots - 1) / slots * (per + 0.5);
            if (cost < bestCost - 1e-9)
            {
                best = per;
                bestCost = cost;
            }
        }
        return best;
    }

    /// <summary>Each row's window, once per group (the gathers then skip the row table and the 64-bit multiplies): the
    /// index of its top-left input word (may lie in the padding) and its corner packed as iy0·65536 + (ix0 &amp; 0xFFFF),
    /// two signed 16-bit halves (the model validator keeps every dimension ≤ 16384), iy0 = −32768 for an empty row so
    /// every tap is out of bounds.</summary>
    static void Windows(GpuBlockParams p, TileRows rows, ArrayView<long> bases, ArrayView<int> corners)
    {
        int r = Group.IdxX;
        if (r >= Group.DimX / 2) return;
        int n = rows.N[r], iy0 = rows.Y[r] * p.Stride - p.Pad, ix0 = rows.X[r] * p.Stride - p.Pad;
        bases[r] = (long)(n < 0 ? 0 : n) * p.InSample + ((long)iy0 * p.InW + ix0) * p.InWords;
        corners[r] = (n < 0 ? -32768 : iy0) << 16 | (ix0 & 0xFFFF);
    }

    /// <summary>Gathers the rows' whole patches (KSteps·4 words, zeros for padding taps, empty rows and past the patch) into
    /// the stage: each thread one word column per 32 and 16 rows, 8 loads in flight.</summary>
    static void StagePatches(GpuBlockParams p, ArrayView<ulong> input, ArrayView<uint> stage, ArrayView<long> bases, ArrayView<int> corners)
    {
        int col = Group.IdxX & 31, warps = Group.DimX >> 5, words = p.KSteps * 4;
        for (int kw = col; kw < words; kw += 32)
        {
            int real = kw < p.KWords ? 0 : -1;
            int tap = kw / p.InWords, wd = kw - tap * p.InWords, ky = tap / p.KW, kx = tap - ky * p.KW;
            int off = (ky * p.InW + kx) * p.InWords + wd;
            for (int r = Group.IdxX >> 5, end = 16 * warps; r < end; r += 8 * warps)
            {
                ulong v0 = Gather(p, input, bases, corners, r, real, ky, kx, off);
                ulong v1 = Gather(p, input, bases, corners, r + warps, real, ky, kx, off);
                ulong v2 = Gather(p, input, bases, corners, r + 2 * warps, real, ky, kx, off);
                ulong v3 = Gather(p, input, bases, corners, r + 3 * warps, real, ky, kx, off);
                ulong v4 = Gather(p, input, bases, corners, r + 4 * warps, real, ky, kx, off);
                ulong v5 = Gather(p, input, bases, corners, r + 5 * warps, real, ky, kx, off);
                ulong v6 = Gather(p, input, bases, corners, r + 6 * warps, real, ky, kx, off);
                ulong v7 = Gather(p, input, bases, corners, r + 7 * warps, real, ky, kx, off);
                Put(p, stage, r, kw, v0);
                Put(p, stage, r + warps, kw, v1);
                Put(p, stage, r + 2 * warps, kw, v2);
                Put(p, stage, r + 3 * warps, kw, v3);
                Put(p, stage, r + 4 * warps, kw, v4);
                Put(p, stage, r + 5 * warps, kw, v5);
                Put(p, stage, r + 6 * warps, kw, v6);
                Put(p, stage, r + 7 * warps, kw, v7);
            }
        }
    }

    /// <summary>Patch word (ky, kx, word) of row r at <paramref name="off"/> words from its window's corner, or 0; branch-free
    /// like <see cref="GpuTensorCore.Gather"/>.</summary>
    static ulong Gather(GpuBlockParams p, ArrayView<ulong> input, ArrayView<long> bases, ArrayView<int> corners, int r, int real,
        int ky, int kx, int off)
    {
        int c = corners[r], iy = (c >> 16) + ky, ix = (short)c + kx;
        long bad = (iy | (p.InH - 1 - iy) | ix | (p.InW - 1 - ix) | real) >> 31; // −1 or 0
        return input[(bases[r] + off) & ~bad] & ~(ulong)bad;
    }

    static void Put(GpuBlockParams p, ArrayView<uint> stage, int r, int kw, ulong v)
    {
        int s = r * p.RowStride + 2 * kw;
        stage[s] = (uint)v;
        stage[s + 1] = (uint)(v >> 32);
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
    /// from global memory one step ahead of the 8 MMAs that use them. Two steps per iteration, the fragments alternating
    /// between two sets, so no register moves carry them from one step to the next.</summary>
    static void Product(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> stage, int tile, ref MmaTile8 acc)
    {
        int lane = Group.IdxX & 31, t = lane & 3;
        int rA = ((Group.IdxX >> 5) * 16 + (lane >> 2)) * p.RowStride + t, rB = rA + 8 * p.RowStride;
        long first = (long)tile * p.KSteps * 256 + lane, last = first + (long)(p.KSteps - 1) * 256;
        var even = Fragments8.Load(weights, first);
        int s = 0;
        for (; s + 1 < p.KSteps; s += 2)
        {
            long next = first + (long)(s + 1) * 256, after = next + 256 < last ? next + 256 : last; // past the end: reload (cached, unused)
            var odd = Fragments8.Load(weights, next);
            Mma8(stage, rA, rB, 8 * s, even, ref acc);
            even = Fragments8.Load(weights, after);
            Mma8(stage, rA, rB, 8 * s + 8, odd, ref acc);
        }
        if (s < p.KSteps) Mma8(stage, rA, rB, 8 * s, even, ref acc); // an odd step count: the last one
    }

    /// <summary>The 8 MMAs of one step: this lane's A registers at stage offset u, against the step's 8 B fragments.</summary>
    static void Mma8(ArrayView<uint> stage, int rA, int rB, int u, Fragments8 b, ref MmaTile8 acc)
    {
        uint a0 = stage[rA + u], a1 = stage[rB + u], a2 = stage[rA + u + 4], a3 = stage[rB + u + 4];
        Step(ref acc.F0, a0, a1, a2, a3, b.B0);
        Step(ref acc.F1, a0, a1, a2, a3, b.B1);
        Step(ref acc.F2, a0, a1, a2, a3, b.B2);
        Step(ref acc.F3, a0, a1, a2, a3, b.B3);
        Step(ref acc.F4, a0, a1, a2, a3, b.B4);
        Step(ref acc.F5, a0, a1, a2, a3, b.B5);
        Step(ref acc.F6, a0, a1, a2, a3, b.B6);
        Step(ref acc.F7, a0, a1, a2, a3, b.B7);
    }

    /// <summary>One step's B fragments of this lane: 8 n-tiles, 64 bits each (two registers).</summary>
    struct Fragments8
    {
        public ulong B0, B1, B2, B3, B4, B5, B6, B7;

        public static Fragments8 Load(ArrayView<ulong> weights, long i) => new()
        {
            B0 = weights[i], B1 = weights[i + 32], B2 = weights[i + 64], B3 = weights[i + 96],
            B4 = weights[i + 128], B5 = weights[i + 160], B6 = weights[i + 192], B7 = weights[i + 224],
        };
    }

    static void Step(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, ulong b) =>
        GpuMma.AndPopc(ref c, a0, a1, a2, a3, (uint)b, (uint)(b >> 32));

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        var stage = SharedMemory.Allocate<uint>(TileRows.MaxRows * MaxRowStride);
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var epilogue = new BitsEpilogue(p, meta, rows);
        var bases = SharedMemory.Allocate<long>(TileRows.MaxRows);
        var corners = SharedMemory.Allocate<int>(TileRows.MaxRows);
        Windows(p, rows, bases, corners);
        Group.Barrier();
        StagePatches(p, input, stage, bases, corners);
        Group.Barrier();
        var pop = RowPopcounts(p, stage);
        int first = Grid.IdxY * p.TilesPerGroup, tiles = p.PaddedK / 64;
        int end = first + p.TilesPerGroup < tiles ? first + p.TilesPerGroup : tiles;
        for (int tile = first; tile < end; tile++)
        {
            ulong andMask = poolAnd[tile];
            var acc = default(MmaTile8);
            acc.Pop = pop;
            Product(p, weights, stage, tile, ref acc);
            if (tile > first) Group.Barrier(); // the previous tile's pooling has read the rows' bits
            epilogue.Store(p, outWords, meta, rows, tile, andMask, ref acc);
        }
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        var stage = SharedMemory.Allocate<uint>(TileRows.MaxRows * MaxRowStride);
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var bases = SharedMemory.Allocate<long>(TileRows.MaxRows);
        var corners = SharedMemory.Allocate<int>(TileRows.MaxRows);
        Windows(p, rows, bases, corners);
        Group.Barrier();
        StagePatches(p, input, stage, bases, corners);
        Group.Barrier();
        var pop = RowPopcounts(p, stage);
        int lane = Group.IdxX & 31, t = lane & 3, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        int first = Grid.IdxY * p.TilesPerGroup, tiles = p.PaddedK / 64;
        int end = first + p.TilesPerGroup < tiles ? first + p.TilesPerGroup : tiles;
        for (int tile = first; tile < end; tile++)
        {
            var acc = default(MmaTile8);
            Product(p, weights, stage, tile, ref acc);
            int k = tile * 64 + 2 * t;
            GpuTensorCore.RowScores(p, outScores, meta, rows, r, pop.C0, k, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1,
                acc.F2.C0, acc.F2.C1, acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
            GpuTensorCore.RowScores(p, outScores, meta, rows, r + 8, pop.C2, k, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3,
                acc.F2.C2, acc.F2.C3, acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
        }
    }
}
