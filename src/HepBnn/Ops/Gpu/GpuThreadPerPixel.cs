using HepBnn.Devices;
using ILGPU;
using static HepBnn.Ops.Gpu.GpuBlockMath;

namespace HepBnn.Ops.Gpu;

/// <summary>One thread per output pixel (n, y, x) looping over all channels and writing whole 64-bit words. Threads of a
/// warp read the same weight word at the same time (a broadcast); parallelism is only pixels × batch.</summary>
public sealed class GpuThreadPerPixel : GpuConfiguration
{
    public override string Name => "gpu.thread-per-pixel";
    public override string Description => "one thread per output pixel, looping over channels";
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        int pixels = p.OutH * p.OutW;
        // Few pixels (dense layers, small maps): small groups so that the few threads spread over more SMs.
        int group = Math.Min(gpu.MaxGroupSize, pixels <= 64 ? GpuDevice.WarpSize : gpu.MaxGroupSize);
        return Linear(pixels, group, batch);
    }

    /// <summary>This thread's output pixel (index, row, column); false past the last one.</summary>
    static bool Pixel(GpuBlockParams p, out int pixel, out int y, out int x)
    {
        pixel = Grid.IdxX * Group.DimX + Group.IdxX;
        y = pixel / p.OutW;
        x = pixel - y * p.OutW;
        return pixel < p.OutH * p.OutW;
    }

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int n = Grid.IdxY;
        if (!Pixel(p, out int pixel, out int py, out int px)) return;
        long inBase = (long)n * p.InSample, outBase = (long)n * p.OutSample + (long)pixel * p.OutWords;
        for (int w = 0; w < p.OutWords; w++)
        {
            ulong word = 0;
            int count = p.K - w * 64 < 64 ? p.K - w * 64 : 64;
            for (int j = 0; j < count; j++)
                if (PooledBit(p, input, inBase, weights, meta, poolAnd, py, px, w * 64 + j, false)) word |= 1UL << j;
            outWords[outBase + w] = word;
        }
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int n = Grid.IdxY;
        if (!Pixel(p, out int pixel, out int oy, out int ox)) return;
        long inBase = (long)n * p.InSample, outBase = (long)n * p.OutSample + (long)pixel * p.K;
        for (int k = 0; k < p.K; k++) outScores[outBase + k] = Dot(p, input, inBase, weights, meta, oy, ox, k, false);
    }
}
