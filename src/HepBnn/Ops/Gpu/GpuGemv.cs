using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Dense blocks at small batch as a GEMV (VGG7's fc1 at batch 1: 8192 → 1024 bits, 1 MiB of weights for 128 words of
/// input). A group per output BYTE (8 channels) and sample, so fc1 spreads over 128 groups instead of the 16 of a group
/// per output word (gpu.warp-reduce): the work is one round trip of loads per lane, and the grid's width is what hides
/// it. The group's warps share the 8 channels (<see cref="GpuBlockParams.Lanes"/> lanes per channel: 16 with 4 warps);
/// the lanes of a channel read its weight row's consecutive words (rows are contiguous in the host's packing, so the
/// channel-major layout is already the lane-interleaved one) and the sample's words at the same indices,
/// <see cref="Unroll"/> words per lane per chunk with every load issued before the popcounts. The weights of the first
/// chunk and the threshold are loaded BEFORE <see cref="GpuDependentLaunch.Wait"/> (they are session constants), so with
/// programmatic edges only the input's loads are on the path after the predecessor. Sums: a butterfly over the
/// channel's lanes; bits: the channel's lane 0 thresholds as <see cref="GpuBlockMath.Fires"/> (a dense block has one
/// border class), shared memory gathers the group's 8 bits, one thread stores the byte (bytes past K are zeros).
/// Any batch runs (a grid row per sample); it is built for 1..16, where the tensor cores' 64-row tiles are mostly empty.
/// </summary>
public sealed class GpuGemv : GpuConfiguration
{
    /// <summary>Channels per group: one output byte per sample.</summary>
    public const int GroupChannels = 8;
    /// <summary>Words per lane per chunk: 8 with 16 lanes per channel covers VGG7 fc1's 128-word rows in one chunk.</summary>
    public const int Unroll = 8;

    public override string Name => "gpu.gemv";
    public override string Description => "dense blocks as a GEMV: a group per output byte and sample, lanes splitting each channel's words, weights loaded before the wait";
    protected override bool SupportsChannelSums => false;
    protected override GpuKernelMethod Bits => BitsKernel;
    protected override GpuKernelMethod Scores => ScoresKernel;

    public override bool Supports(Block block) => Refusal(block) is null;
    public override string? Refusal(Block block) => Refuses(block);

    /// <summary>Why <paramref name="block"/> is no GEMV (null when it is): dense, bits input, no pooling.</summary>
    public static string? Refuses(Block block) =>
        !block.IsDense ? "not a dense block (a GEMV needs the kernel to cover the whole input)"
        : block.Input != BlockInput.Bits ? "an 8-bit image block (a GEMV over packed words only)"
        : block.HasPool ? "a pooled block" : null;

    /// <summary>Warps per group: the largest power of two ≤ 8 the device's group size allows (4 on CUDA at 128 threads,
    /// 2 on ILGPU's CPU accelerator), so the 8 channels divide evenly among them.</summary>
    internal static int Warps(GpuDevice gpu)
    {
        int warps = 1;
        while (warps < GroupChannels && warps * 2 * GpuDevice.WarpSize <= gpu.MaxGroupSize) warps *= 2;
        return warps;
    }

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        int warps = Warps(gpu);
        p.Lanes = GpuDevice.WarpSize * warps / GroupChannels;
        int groups = p.ScoresOutput == 1 ? (p.K + GroupChannels - 1) / GroupChannels : p.OutWords * (64 / GroupChannels);
        return new KernelConfig(new Index3D(groups, batch, 1), new Index3D(warps * GpuDevice.WarpSize, 1, 1));
    }

    static void BitsKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue(); // Reduce waits for the predecessor after loading the weights
        var bits = SharedMemory.Allocate<int>(GroupChannels);
        int lanes = p.Lanes, j = Group.IdxX / lanes, part = Group.IdxX - j * lanes, n = Grid.IdxY;
        int k = Grid.IdxX * GroupChannels + j;
        bool valid = k < p.K;
        int kk = valid ? k : 0;
        int sign = meta[kk], value = GpuBlockMath.ThresholdValue(p, meta, kk, 0, 0);
        int x = Reduce(p, input, (long)n * p.InSample, weights, kk, part, lanes);
        if (part == 0) bits[j] = valid && sign * x >= value ? 1 << j : 0;
        Group.Barrier();
        if (Group.IdxX == 0)
        {
            int b = 0;
            for (int i = 0; i < GroupChannels; i++) b |= bits[i];
            outWords.Cast<byte>()[(long)n * p.OutSample * 8 + Grid.IdxX] = (byte)b;
        }
    }

    static void ScoresKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Prologue();
        int lanes = p.Lanes, j = Group.IdxX / lanes, part = Group.IdxX - j * lanes, n = Grid.IdxY;
        int k = Grid.IdxX * GroupChannels + j;
        bool valid = k < p.K;
        int x = Reduce(p, input, (long)n * p.InSample, weights, valid ? k : 0, part, lanes);
        if (valid && part == 0) outScores[(long)n * p.OutSample + k] = x;
    }

    /// <summary>Pre-activation of channel <paramref name="k"/> for the sample at <paramref name="inBase"/>:
    /// KH·KW·C − 2·popc(x ⊕ w) over the row, the words dealt to the channel's <paramref name="lanes"/> lanes (aligned
    /// groups of a power of two) and summed by a butterfly. Every thread of the group calls it: it contains the
    /// kernel's <see cref="GpuDependentLaunch.Wait"/> (after the first chunk's weights, before the first input load).</summary>
    internal static int Reduce(GpuBlockParams p, ArrayView<ulong> input, long inBase, ArrayView<ulong> weights, int k, int part, int lanes)
    {
        int r = p.KH * p.KW * p.InWords, step = lanes * Unroll;
        long row = (long)k * r;
        var w = Chunk.Load(weights, row, part, lanes, r);
        GpuDependentLaunch.Wait();
        int pop = 0;
        for (int c = 0; c < r; c += step)
        {
            if (c > 0) w = Chunk.Load(weights, row, c + part, lanes, r);
            pop += w.Pop(Chunk.Load(input, inBase, c + part, lanes, r));
        }
        pop = SumStep(pop, 1, lanes);
        pop = SumStep(pop, 2, lanes);
        pop = SumStep(pop, 4, lanes);
        pop = SumStep(pop, 8, lanes);
        pop = SumStep(pop, 16, lanes);
        return p.KH * p.KW * p.InC - 2 * pop;
    }

    /// <summary>One butterfly step: adds lane ^ m when m is inside the channel's lanes (every lane shuffles, whatever L is).</summary>
    static int SumStep(int v, int m, int lanes)
    {
        int other = Warp.ShuffleXor(v, m);
        return m < lanes ? v + other : v;
    }

    /// <summary>A lane's <see cref="Unroll"/> words of one chunk (indices i, i + L, …; zero past the row's end).
    /// Branch-free, so the 8 loads are in flight together.</summary>
    struct Chunk
    {
        public ulong W0, W1, W2, W3, W4, W5, W6, W7;

        public static Chunk Load(ArrayView<ulong> v, long at, int i, int lanes, int r) => new()
        {
            W0 = Word(v, at, i, r), W1 = Word(v, at, i + lanes, r), W2 = Word(v, at, i + 2 * lanes, r), W3 = Word(v, at, i + 3 * lanes, r),
            W4 = Word(v, at, i + 4 * lanes, r), W5 = Word(v, at, i + 5 * lanes, r), W6 = Word(v, at, i + 6 * lanes, r), W7 = Word(v, at, i + 7 * lanes, r),
        };

        public readonly int Pop(Chunk x) =>
            GpuPopc.Count(W0 ^ x.W0) + GpuPopc.Count(W1 ^ x.W1) + GpuPopc.Count(W2 ^ x.W2) + GpuPopc.Count(W3 ^ x.W3)
            + GpuPopc.Count(W4 ^ x.W4) + GpuPopc.Count(W5 ^ x.W5) + GpuPopc.Count(W6 ^ x.W6) + GpuPopc.Count(W7 ^ x.W7);

        static ulong Word(ArrayView<ulong> v, long at, int i, int r)
        {
            bool ok = i < r;
            ulong w = v[ok ? at + i : at];
            return ok ? w : 0UL;
        }
    }
}
