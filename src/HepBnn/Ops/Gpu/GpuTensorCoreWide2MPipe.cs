using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreWide2MBand"/> with persistent groups that pipeline their row tiles: a group takes a run of
/// consecutive row tiles (pooled rows of one sample, so neighbouring bands share input rows in L1) and, while it
/// multiplies one tile from one of two band buffers, copies the next tile's band into the other with
/// <see cref="GpuAsyncCopy"/> (<c>cp.async</c>, no registers held, zeros for the padding). Per tile: the copies for the
/// next tile are issued, the rows and their bases filled, this thread's copies of the current band waited for, one group
/// barrier, then the band kernel's body (<see cref="GpuTensorCoreWide2MBand.Tiles"/>: rows' popcounts, and per channel
/// tile start values, product, epilogue), and a barrier before the buffer and the rows are reused. The offset table is
/// filled once per group, not per tile. Why: on VGG7's conv2 at batch 256 the band kernel's groups are latency-bound at
/// ~4 warps per scheduler, waiting on the band's loads and the barriers of a short life (2 channel tiles per band;
/// docs/results/h200-ncu4, h200-session9-final); here only the first band of a group is waited for cold.
/// The grid is one round of resident groups (on ILGPU's CPU accelerator a third of the row tiles, so the tests run
/// groups of three tiles through both buffers, and a shorter last group). Accepts what the band kernel accepts with
/// two bands in ≤ 32 KB.
/// <para>Kept out of <see cref="ConfigurationRegistry"/>: with its operand locals promoted (<see cref="PromotesLocals"/>) it
/// is bit-exact on the H200 and runs at band's speed class, but slower on every block it takes (VGG7 b256, one run:
/// conv2 52.5 against band's 42.6 µs, conv3 21.9/20.2, conv4 30.5/26.5, conv5 21.2/17.4; docs/results/h200-conv9):
/// the band's global loads were not what held the band kernel back (Nsight Compute: long-scoreboard stalls 0.26 per
/// issued instruction), and the persistent loop adds barriers and spills. The profiler could never pick it.</para>
/// </summary>
public sealed class GpuTensorCoreWide2MPipe : GpuTensorCoreWide2MBand
{
    public override string Name => "gpu.tensor-core-wide-2m-r128-pipe";
    public override string Description => "gpu.tensor-core-wide-2m-r128-band with persistent groups copying the next row tile's band (cp.async) while multiplying the current one";
    protected override GpuKernelMethod Bits => BitsKernelPipe;
    /// <summary>cp.async keeps ptxas from promoting the MMAs' operand locals (a 2,912-byte stack, 24x slower): done in the
    /// PTX instead (<see cref="GpuPtxLocals"/>).</summary>
    protected override bool PromotesLocals => true;
    /// <summary>Two bands in the dynamic shared memory a launch gets without opting in to more (48 KB).</summary>
    protected override int BandUnits => MaxBandUnits / 2;

    /// <summary>Channel-tile groups as the band kernel splits them; row tiles in runs so that the groups make one round of
    /// resident groups (as many runs as slots, each of ⌈row tiles / slots⌉ tiles); two bands of dynamic shared memory.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        int rowTiles = GpuWideBand.Groups(p, batch), tiles = p.PaddedK / 64, runs;
        if (gpu.Accelerator.AcceleratorType == AcceleratorType.Cuda)
        {
            int slots = GroupsPerSm(p, 2) * gpu.Accelerator.NumMultiprocessors;
            p.TilesPerGroup = TilesPerGroup(rowTiles, tiles, slots, GatherTiles);
            int resident = Math.Max(1, slots / ((tiles + p.TilesPerGroup - 1) / p.TilesPerGroup));
            int run = (rowTiles + resident - 1) / resident;
            runs = (rowTiles + run - 1) / run;
        }
        else
        {
            p.TilesPerGroup = Math.Min(2, tiles);
            runs = (rowTiles + 2) / 3;
        }
        return new KernelConfig(new Index3D(runs, (tiles + p.TilesPerGroup - 1) / p.TilesPerGroup, 1), new Index3D(p.Lanes, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(2 * p.StageWords));
    }

    /// <summary>The input's device address for the copies, in two fields bits blocks leave unused (the image blocks'
    /// channel-sum offsets: this configuration refuses image blocks).</summary>
    protected internal override void Bind(ref GpuBlockParams p, ArrayView<ulong> input)
    {
        ulong address = GpuAsyncCopy.DeviceAddress(input);
        p.MultiplierOffset = (int)(uint)address;
        p.WideValueOffset = (int)(uint)(address >> 32);
    }

    /// <summary>The offset table once; the first band's copies; then per row tile of the group's run: the next band's
    /// copies into the other buffer, the rows, the wait for this band, the band kernel's body, a barrier.</summary>
    static void BitsKernelPipe(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var bands = SharedMemory.GetDynamic<ulong>();
        var rows = new TileRows(SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var bases = SharedMemory.Allocate<int>(TileRows.MaxRows);
        var table = SharedMemory.Allocate<BandOffsets>(GpuWideBand.TableEntries);
        var copy = new GpuAsyncCopy(bands, input, (uint)p.MultiplierOffset | (ulong)(uint)p.WideValueOffset << 32);
        GpuWideBand.FillOffsets(p, table);
        int count = GpuWideBand.Groups(p, p.Batch), run = (count + Grid.DimX - 1) / Grid.DimX;
        int first = Grid.IdxX * run, end = Math.Min(count, first + run);
        for (int g = first - 1; g < end; g++) // one copy site (each inline-PTX operand is a local ptxas must promote)
        {
            int buffer = ((g - first) & 1) * p.StageWords; // g's buffer; g + 1 goes to the other
            Stage(p, copy, g + 1, end, p.StageWords - buffer);
            if (g < first) continue;
            GpuWideBand.TileOrigin(p, g, out int n, out int py0, out int px0);
            GpuWideBand.FillRow(p, rows, bases, n, py0, px0);
            GpuAsyncCopy.WaitAllButOne(); // this thread's copies of band g (all but the group just committed)
            Group.Barrier();
            Tiles(p, bands.SubView(buffer, p.StageWords).Cast<uint>(), table, rows, bases, outWords, weights, meta, poolAnd);
            Group.Barrier(); // band g's buffer (next filled for g + 2) and the rows are read
        }
    }

    /// <summary>Issues the copies of row tile <paramref name="g"/>'s band into the buffer at <paramref name="buffer"/> (none
    /// past the run) and commits them as one group, so each tile waits for exactly its own.</summary>
    static void Stage(GpuBlockParams p, GpuAsyncCopy copy, int g, int end, int buffer)
    {
        if (g < end)
        {
            GpuWideBand.TileOrigin(p, g, out int n, out int py0, out int px0);
            GpuWideBand.StageAsync(p, copy, buffer, n, py0, px0);
        }
        GpuAsyncCopy.Commit();
    }
}
