using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2MFold"/> (2 warps of 32 rows, two m16 tiles per warp sharing each B fragment, 128
/// registers and 8 groups per SM, thresholds folded into the accumulators' start values) with the group's input BAND
/// staged once instead of its 64 rows' patches gathered one by one (<see cref="GpuWideBand"/>): the rows are whole pooling
/// windows of a rectangle of pooled outputs of one sample, the group loads the input rectangle under them (halo and
/// zero padding included) with coalesced loads, and each MMA step's A fragments are read from the band at the lane's row
/// bases plus a per-(step, lane) offset from a table the group fills once. The rows' popcounts are MMAs on the same A
/// fragments against a B of ones inside the patch and zeros past it (the units past the patch read arbitrary band words:
/// the weights are zero there). Why: on VGG7's conv2 at batch 256 the gathers from L2 of the lean/fold preamble (64 rows
/// × 18 words for a band of 272 words) took ~42% of the stall samples, each gathered patch feeding only 2 channel tiles
/// (Nsight Compute, docs/results/h200-ncu4).
/// Accepts bits blocks with ≤ <see cref="MaxInWords"/> words per pixel, kernels up to 3×3, strides up to 2, pooling
/// windows of ≤ 32 conv outputs and a band of ≤ <see cref="MaxBandUnits"/> 32-bit units; refuses 8-bit image blocks and
/// scores blocks (no scores kernel: gpu.tensor-core-wide-2m-r128-fold runs them). Like the fold kernel, a threshold
/// range bounded on both sides is refused at set-up with a HepBnnException. The profiler measures it beside the others
/// and keeps the faster per block.
/// </summary>
public class GpuTensorCoreWide2MBand : GpuTensorCoreWide2M
{
    /// <summary>Largest input words per pixel: a 3×3 patch of them is ≤ 36 words (<see cref="GpuWideBand.MaxSteps"/>).</summary>
    public const int MaxInWords = 4;
    /// <summary>Largest band (32-bit units, 32 KB): far above what the accepted shapes need (≤ ~7K units).</summary>
    public const int MaxBandUnits = 8192;

    /// <summary>Largest band the kernel's shared memory holds (32-bit units).</summary>
    protected virtual int BandUnits => MaxBandUnits;

    public override string Name => "gpu.tensor-core-wide-2m-r128-band";
    public override string Description => "gpu.tensor-core-wide-2m-r128-fold with the group's input band staged once and A fragments read through an offset table";
    protected override GpuKernelMethod Bits => BitsKernelBand;
    protected override GpuKernelMethod Scores => ScoresKernel2MLean; // never loaded: scores blocks are refused
    protected override KernelSpecialization Specialization => new(64, 8);
    protected override int RegisterGroupsPerSm => 8;
    /// <summary>The preamble (tile origin, rows, the band's words, the offset table: run-time divisions by shapes) runs once
    /// per group, 4,096 groups for VGG7's conv2 at b256: Nsight Compute put 34 % of conv2's stall samples and ~37 % of its
    /// executed instructions there, and with conv2's shapes as constants ptxas makes 1,168 SASS instructions of the
    /// kernel's 1,624 (the preamble 631 of 1,064; docs/results/h200-conv9). So its twins are measured at every batch.</summary>
    protected internal override bool TwinsAtEveryBatch => true;
    /// <summary>The band costs far less than the patches' gathers: half a tile-time per group.</summary>
    protected override double GatherTiles => 0.5;

    public override string? Refusal(Block block)
    {
        if (block.Input == BlockInput.Image) return "8-bit image blocks (gpu.tensor-core runs them on the byte MMA)";
        if (block.Output == BlockOutput.Scores) return "scores blocks (only the folded bits epilogue; gpu.tensor-core-wide-2m-r128-fold runs them)";
        if (block.InputWords > MaxInWords) return $"inputs of {block.InputWords} words per pixel (the band kernel takes up to {MaxInWords})";
        if (block.KernelH > 3 || block.KernelW > 3) return "kernels over 3×3";
        if (block.Stride > 2) return "strides over 2";
        if (block.HasPool && block.PoolSize * block.PoolSize > 32) return "pooling windows over 32 conv outputs";
        if (!CpuBlockData.Fits(block)) return "border-class tables too large";
        int units = GpuWideBand.MostUnits(GpuBlockParams.From(block));
        if (units > BandUnits) return $"bands of {units} 32-bit units (the kernel takes up to {BandUnits})";
        return null;
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu) => GpuWideBand.WithBand(base.Specialize(p, gpu));

    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p) => GpuWideFoldThresholds.Data(gpu, block, p);

    /// <summary>Groups: the tiles of every sample (<see cref="GpuWideBand.Groups"/>) × channel-tile groups, as many tiles per
    /// group as <see cref="GpuTensorCoreWide.TilesPerGroup"/> finds (2 on the CPU accelerator, so tests cover a group
    /// with several tiles and one starting past tile 0); the band as dynamic shared memory.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        int groups = GpuWideBand.Groups(p, batch), tiles = p.PaddedK / 64;
        int per = gpu.Accelerator.AcceleratorType == AcceleratorType.Cuda
            ? TilesPerGroup(groups, tiles, GroupsPerSm(p) * gpu.Accelerator.NumMultiprocessors, GatherTiles)
            : Math.Min(2, tiles);
        p.TilesPerGroup = per;
        return new KernelConfig(new Index3D(groups, (tiles + per - 1) / per, 1), new Index3D(p.Lanes, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(p.StageWords));
    }

    /// <summary>Resident groups per SM: 8 by registers, fewer only for <paramref name="buffers"/> bands over ~25 KB.</summary>
    private protected static int GroupsPerSm(GpuBlockParams p, int buffers = 1) =>
        Math.Max(1, Math.Min(8, 228 * 1024 / (8 * buffers * p.StageWords + 3 * 1024)));

    /// <summary>The preamble (tile origin, rows and their band bases, the band, the offset table, one wait for the group,
    /// the rows' popcounts), then per channel tile the fold kernel's start values, product and epilogue.</summary>
    static void BitsKernelBand(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var band64 = SharedMemory.GetDynamic<ulong>();
        var rows = new TileRows(SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var bases = SharedMemory.Allocate<int>(TileRows.MaxRows);
        var table = SharedMemory.Allocate<BandOffsets>(GpuWideBand.TableEntries);
        GpuWideBand.TileOrigin(p, out int n, out int py0, out int px0);
        GpuWideBand.FillRow(p, rows, bases, n, py0, px0);
        GpuWideBand.Stage(p, input, band64, n, py0, px0);
        GpuWideBand.FillOffsets(p, table);
        Group.Barrier();
        Tiles(p, band64.Cast<uint>(), table, rows, bases, outWords, weights, meta, poolAnd);
    }

    /// <summary>After the preamble's wait for the group (band, rows, bases and table in place): the rows' popcounts, then
    /// per channel tile of the group the fold kernel's start values, product and epilogue. Also the body of
    /// <see cref="GpuTensorCoreWide2MPipe"/>'s row-tile loop.</summary>
    internal static void Tiles(GpuBlockParams p, ArrayView<uint> band, ArrayView<BandOffsets> table, TileRows rows, ArrayView<int> bases,
        ArrayView<ulong> outWords, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        int r = Wide2MBitsEpilogue.FirstRow();
        var lane = new LaneRows { A = bases[r], B = bases[r + 8], C = bases[r + 16], D = bases[r + 24] };
        RowPopcounts(p, band, table, lane, out var popLo, out var popHi);
        var epilogue = new Wide2MFoldEpilogue(p, meta, rows, popLo, popHi, r, Group.IdxX);
        var starts = meta.Cast<FoldPair>();
        int first = Grid.IdxY * p.TilesPerGroup, end = TileEnd(p, first);
        for (int tile = first; tile < end; tile++)
        {
            epilogue.Start(starts, tile, out var lo, out var hi);
            Product(p, weights, band, table, lane, tile, ref lo, ref hi);
            ulong andMask = poolAnd[tile]; // after the product: not live through it
            if (tile > first) Group.Barrier(); // the previous tile's pooling has read the rows' bits
            epilogue.Store(p, outWords, rows, tile, andMask, ref lo, ref hi);
        }
    }

    /// <summary>Band bases (32-bit units) of this lane's rows g, g+8 (first m16 tile) and g+16, g+24 (second).</summary>
    struct LaneRows
    {
        public int A, B, C, D;
    }

    /// <summary>popc(a) of the lane's four rows over the patch: per step the A fragments as the product reads them, against
    /// a B of ones inside the patch and zeros past it (C0 = C1 = row g, C2 = C3 = row g+8 of each m16 tile).</summary>
    static void RowPopcounts(GpuBlockParams p, ArrayView<uint> band, ArrayView<BandOffsets> table, LaneRows rows,
        out MmaAccumulator lo, out MmaAccumulator hi)
    {
        int t = Group.IdxX & 3;
        lo = default;
        hi = default;
        for (int s = 0; s < p.KSteps; s++)
        {
            var o = table[4 * s + t];
            var a = LoadA(band, rows.A, rows.B, o);
            var b = LoadA(band, rows.C, rows.D, o);
            uint m0 = GpuWideBand.Inside(p, 8 * s + t), m1 = GpuWideBand.Inside(p, 8 * s + t + 4);
            GpuMma.AndPopc(ref lo, a.A0, a.A1, a.A2, a.A3, m0, m1);
            GpuMma.AndPopc(ref hi, b.A0, b.A1, b.A2, b.A3, m0, m1);
        }
    }

    /// <summary>The warp's 32 rows × 64 channels of <paramref name="tile"/>, as <see cref="GpuTensorCoreWide2M"/>'s product
    /// (B fragments from global memory and A fragments one step ahead of the step's 16 MMAs, two steps per iteration), the
    /// A fragments read from the band through the step's offsets; the loads ahead of the last step read the table's zero
    /// step and the weights' padding step (unused).</summary>
    static void Product(GpuBlockParams p, ArrayView<ulong> weights, ArrayView<uint> band, ArrayView<BandOffsets> table, LaneRows rows, int tile,
        ref MmaTile8 lo, ref MmaTile8 hi)
    {
        int t = Group.IdxX & 3;
        long w = (long)tile * p.KSteps * 256 + (Group.IdxX & 31);
        var even = Fragments8.Load(weights, w);
        var o = table[t];
        var loEven = LoadA(band, rows.A, rows.B, o);
        var hiEven = LoadA(band, rows.C, rows.D, o);
        int s = 0;
        for (; s + 1 < p.KSteps; s += 2)
        {
            var odd = Fragments8.Load(weights, w + 256);
            o = table[4 * s + 4 + t];
            var loOdd = LoadA(band, rows.A, rows.B, o);
            var hiOdd = LoadA(band, rows.C, rows.D, o);
            Mma8(loEven, even, ref lo);
            Mma8(hiEven, even, ref hi);
            w += 512;
            even = Fragments8.Load(weights, w);
            o = table[4 * s + 8 + t];
            loEven = LoadA(band, rows.A, rows.B, o);
            hiEven = LoadA(band, rows.C, rows.D, o);
            Mma8(loOdd, odd, ref lo);
            Mma8(hiOdd, odd, ref hi);
        }
        if (s < p.KSteps) // an odd step count: the last one
        {
            Mma8(loEven, even, ref lo);
            Mma8(hiEven, even, ref hi);
        }
    }

    /// <summary>One step's A fragment of rows at band bases <paramref name="ra"/> (row g) and <paramref name="rb"/> (g+8).</summary>
    static FragmentsA LoadA(ArrayView<uint> band, int ra, int rb, BandOffsets o) => new()
    {
        A0 = band[ra + o.A], A1 = band[rb + o.A], A2 = band[ra + o.B], A3 = band[rb + o.B],
    };
}
