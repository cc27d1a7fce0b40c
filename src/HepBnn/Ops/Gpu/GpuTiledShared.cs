using HepBnn.Devices;
using ILGPU;
using static HepBnn.Ops.Gpu.GpuBlockMath;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Shared-memory tiling: a group per (sample, output row, chunk of channels) first stages the input rows that output row
/// reads into shared memory (one coalesced copy), then each thread computes one channel along the whole row from the
/// stage. Weights are stored channel-minor ([tap][word][channel]) so a warp's 32 channels read 32 consecutive words.
/// Bits are assembled per warp with shuffles as in the baseline. Applies where the staged rows fit in 48 KiB.
/// </summary>
public sealed class GpuTiledShared : GpuConfiguration
{
    /// <summary>Shared memory every CUDA device offers a group without opting in.</summary>
    public const int MaxStageBytes = 48 * 1024;

    public override string Name => "gpu.tiled-shared";
    public override string Description => "input rows staged in shared memory, threads over output channels";
    protected override GpuWeightLayout Layout => GpuWeightLayout.ChannelMinor;
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    public override bool Supports(Block block) => StageWords(GpuBlockParams.From(block)) * 8L <= MaxStageBytes;

    /// <summary>Words of the largest stage: the input rows of one output row (image bytes rounded out to whole words).</summary>
    static int StageWords(GpuBlockParams p)
    {
        long rows = Math.Min(p.RowsPerOutputRow, p.InH);
        return p.ImageInput == 1 ? checked((int)((rows * p.InW * p.InC + 7) / 8 + 1)) : checked((int)(rows * p.InW * p.InWords));
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p.StageWords = Math.Max(1, StageWords(p));
        return p;
    }

    protected internal override KernelConfig Launch(GpuBlockParams p, int batch, GpuDevice gpu)
    {
        int group = gpu.MaxGroupSize;
        while (p.ChannelSlots % group != 0) group >>= 1; // slots are a multiple of 32, so this stops at 32 at the latest
        return new KernelConfig(new Index3D(p.ChannelSlots / group, p.OutH, batch), new Index3D(group, 1, 1),
            SharedMemoryConfig.RequestDynamic<ulong>(p.StageWords));
    }

    /// <summary>Copies the input rows read by output row <paramref name="row"/> of sample <paramref name="n"/> into the
    /// stage; returns the index of the sample's first word (bits) or byte (image) relative to the stage.</summary>
    static long Stage(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> stage, int n, int row)
    {
        bool image = p.ImageInput == 1;
        long unit = image ? p.InC : p.InWords;
        int oy = row * p.PoolStride;
        int r0 = oy * p.Stride - p.Pad, r1 = (oy + p.Pool - 1) * p.Stride - p.Pad + p.KH;
        if (r0 < 0) r0 = 0;
        if (r1 > p.InH) r1 = p.InH;
        if (r1 < r0) r1 = r0;
        long sample = (long)n * p.InSample;
        long first = sample + r0 * p.InW * unit, end = sample + r1 * p.InW * unit;
        long ws = image ? first >> 3 : first, we = image ? (end + 7) >> 3 : end;
        for (long i = Group.IdxX; i < we - ws; i += Group.DimX) stage[i] = input[ws + i];
        Group.Barrier();
        return image ? sample - ws * 8 : sample - ws;
    }

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        int k = Grid.IdxX * Group.DimX + Group.IdxX, py = Grid.IdxY, n = Grid.IdxZ;
        var stage = SharedMemory.GetDynamic<ulong>();
        long inBase = Stage(p, input, stage, n, py);
        long outBase = ((long)n * p.OutSample + (long)py * p.OutW * p.OutWords) * 2 + (k >> 5);
        for (int px = 0; px < p.OutW; px++)
        {
            bool bit = k < p.K && PooledBit(p, stage, inBase, weights, meta, poolAnd, py, px, k, true);
            uint half = WarpOr(bit ? 1u << (k & 31) : 0u);
            if (Warp.LaneIdx == 0) outHalves[outBase + (long)px * p.OutWords * 2] = half;
        }
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        int k = Grid.IdxX * Group.DimX + Group.IdxX, oy = Grid.IdxY, n = Grid.IdxZ;
        var stage = SharedMemory.GetDynamic<ulong>();
        long inBase = Stage(p, input, stage, n, oy);
        if (k >= p.K) return;
        long outBase = (long)n * p.OutSample + (long)oy * p.OutW * p.K + k;
        for (int ox = 0; ox < p.OutW; ox++)
            outScores[outBase + (long)ox * p.K] = Dot(p, stage, inBase, weights, meta, oy, ox, k, true);
    }
}
