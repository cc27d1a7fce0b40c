using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;
using static HepBnn.Ops.Gpu.GpuImageRowsData;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// <see cref="GpuTensorCoreImageRows"/> with each group's input read once, up front, into shared memory. In the found
/// VGG3 b256 plan the first kernel reads the batch straight from page-locked host memory (mapped host input: no copy
/// node), and Nsight Compute on the H200 (docs/results/h200-small8) measured the rows kernel at 22.4 µs that way against
/// 12.6 µs from device memory: each warp's units wait, one after the other, on scattered 4-byte reads that cross PCIe
/// (long-scoreboard stalls 5.0 per issued instruction against 0.41). Here a group owns a contiguous range of units (the
/// same count per group as the rows kernel's grid-stride loop gives it), copies the span of input bytes its rows' windows
/// cover (<see cref="Span"/>) into dynamic shared memory with coalesced 64-bit loads issued all at once — one round trip
/// per group — and then runs the rows kernel's unit body (<see cref="GpuTensorCoreImageRows.RunUnits"/>) on the staged
/// words. Same outputs and refusals; the profiler measures it beside the rows kernel and keeps the faster per block.
/// </summary>
public sealed class GpuTensorCoreImageRowsStaged : GpuTensorCoreImageRows
{
    public override string Name => "gpu.tensor-core-image-rows-staged";
    public override string Description => "gpu.tensor-core-image-rows with each group's input span staged once in shared memory (one read of mapped host input)";
    protected override GpuKernelMethod Bits => StagedKernel;
    protected override GpuKernelMethod Scores => StagedKernel; // never launched: scores output is refused

    /// <summary>The rows kernel's grid, with the units per group in <see cref="GpuBlockParams.TilesPerGroup"/> and the
    /// largest group's staged span (64-bit words) in <see cref="GpuBlockParams.StageWords"/>, found by walking the groups
    /// (a few hundred at b256) with the kernel's own span formula.</summary>
    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        int groups = Groups(p, batch, gpu, out int perGroup), units = (int)Units(p, batch), most = 1;
        for (int g = 0; g < groups; g++)
        {
            int u0 = g * perGroup, u1 = Math.Min(units, u0 + perGroup);
            Outputs(p, u0, u1, out int f, out int l);
            int perOut = p.OutH * p.OutW;
            Span(p, f / perOut, f % perOut / p.OutW, f % perOut % p.OutW, l / perOut, l % perOut / p.OutW, l % perOut % p.OutW, out int lo, out int hi);
            most = Math.Max(most, StageLength(lo, hi));
        }
        p.TilesPerGroup = perGroup;
        p.StageWords = most;
        return new KernelConfig(new Index3D(groups, 1, 1), new Index3D(p.Lanes, 1, 1), SharedMemoryConfig.RequestDynamic<ulong>(most));
    }

    /// <summary>The first and last output (pooled, or conv without pooling) of units [<paramref name="u0"/>,
    /// <paramref name="u1"/>) in flat (n, y, x) order.</summary>
    static void Outputs(GpuBlockParams p, int u0, int u1, out int first, out int last)
    {
        int per = p.Pool == 2 ? 8 : 32, total = p.Batch * p.OutH * p.OutW;
        first = u0 * per;
        last = Math.Min(total, u1 * per) - 1;
    }

    /// <summary>Input bytes [lo, hi) that the windows of outputs first (<paramref name="n0"/>, <paramref name="y0"/>,
    /// <paramref name="x0"/>) to last (<paramref name="n1"/>, <paramref name="y1"/>, <paramref name="x1"/>) can read:
    /// window bases grow with the flat output index (<see cref="GpuTensorCoreImageRows.WindowBase"/>), so from the first
    /// output's top-left conv window to the end of the last output's bottom-right one (a pooled output's window row and
    /// column + 1), clamped to the batch's bytes.</summary>
    static void Span(GpuBlockParams p, int n0, int y0, int x0, int n1, int y1, int x1, out int lo, out int hi)
    {
        int q = p.Pool == 2 ? p.PoolStride : 1, last = p.Pool == 2 ? 1 : 0;
        lo = WindowBase(p, n0, y0 * q, x0 * q);
        hi = WindowBase(p, n1, y1 * q + last, x1 * q + last) + (p.KH - 1) * p.InW * p.InC + p.KW * p.InC;
        if (lo < 0) lo = 0;
        if (hi > p.Batch * p.InSample) hi = p.Batch * p.InSample;
    }

    /// <summary>64-bit words of the stage for bytes [lo, hi): from the word holding lo to the one holding hi − 1.</summary>
    static int StageLength(int lo, int hi) => Math.Max(1, ((hi + 7) >> 3) - (lo >> 3));

    static void StagedKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var stage = SharedMemory.GetDynamic<ulong>();
        int units = (int)Units(p, p.Batch), u0 = Grid.IdxX * p.TilesPerGroup, u1 = u0 + p.TilesPerGroup;
        if (u1 > units) u1 = units;
        Outputs(p, u0, u1, out int f, out int l);
        var per = new Magic(meta, PerMagic);
        var width = new Magic(meta, WidthMagic);
        int perOut = p.OutH * p.OutW, fn = per.Div(f), fp = f - fn * perOut, fy = width.Div(fp), ln = per.Div(l), lp = l - ln * perOut, ly = width.Div(lp);
        Span(p, fn, fy, fp - fy * p.OutW, ln, ly, lp - ly * p.OutW, out int lo, out int hi);
        int w0 = lo >> 3, count = StageLength(lo, hi);
        for (int i = Group.IdxX; i < count; i += Group.DimX) stage[i] = input[w0 + i];
        Group.Barrier();
        int warps = Group.DimX >> 5;
        RunUnits(p, stage.Cast<uint>(), 2 * w0, 2 * count - 1, u0 + (Group.IdxX >> 5), u1, warps, outWords, weights, meta, poolAnd);
    }
}
