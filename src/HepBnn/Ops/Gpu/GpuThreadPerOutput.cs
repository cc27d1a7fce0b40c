using HepBnn.Devices;
using ILGPU;
using static HepBnn.Ops.Gpu.GpuBlockMath;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The paper's "fully parallel" baseline: one thread per output element (n, y, x, k), weights as packed on the host.
/// Bits output: the 32 lanes of a warp hold 32 consecutive channels of one pixel and OR their bits into one half-word
/// with shuffles, which lane 0 stores — race-free, no atomics. Channel positions past K compute nothing and give 0 bits.
/// </summary>
public sealed class GpuThreadPerOutput : GpuConfiguration
{
    public override string Name => "gpu.thread-per-output";
    public override string Description => "one thread per output element (pixel, channel); warp shuffles assemble words";
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu) =>
        Linear((long)p.OutH * p.OutW * p.ChannelSlots, gpu.MaxGroupSize, batch);

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int t = Grid.IdxX * Group.DimX + Group.IdxX, n = Grid.IdxY;
        int slots = p.ChannelSlots;
        if (t >= p.OutH * p.OutW * slots) return; // whole warps only: slots and the group size are multiples of 32
        int pixel = t / slots, k = t - pixel * slots;
        int py = pixel / p.OutW, px = pixel - py * p.OutW;
        bool bit = k < p.K && PooledBit(p, input, (long)n * p.InSample, weights, meta, poolAnd, py, px, k, false);
        uint half = WarpOr(bit ? 1u << (k & 31) : 0u);
        if (Warp.LaneIdx == 0) outHalves[((long)n * p.OutSample + (long)pixel * p.OutWords) * 2 + (k >> 5)] = half;
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int t = Grid.IdxX * Group.DimX + Group.IdxX, n = Grid.IdxY;
        int slots = p.ChannelSlots;
        if (t >= p.OutH * p.OutW * slots) return;
        int pixel = t / slots, k = t - pixel * slots;
        if (k >= p.K) return;
        int oy = pixel / p.OutW, ox = pixel - oy * p.OutW;
        outScores[(long)n * p.OutSample + (long)pixel * p.K + k] = Dot(p, input, (long)n * p.InSample, weights, meta, oy, ox, k, false);
    }
}
