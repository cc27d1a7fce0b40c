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
        GpuDependentLaunch.Prologue(); // ByteOfBits waits for the predecessor after loading the weights
        ByteOfBits(p, input, outWords, weights, meta, SharedMemory.Allocate<int>(GroupChannels));
    }

    /// <summary>The bits kernel's body: this group's output byte of sample Grid.IdxY (also the first half of
    /// <see cref="GpuGemvPair"/>). <paramref name="bits"/>: the group's 8 ints of shared memory. Contains the wait.</summary>
    internal static void ByteOfBits(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<int> bits)
    {
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
        int r = p.KH * p.KW * p.InWords, step = lanes * Unroll, l2 = 2 * lanes, l3 = 3 * lanes, l4 = 4 * lanes, l5 = 5 * lanes, l6 = 6 * lanes, l7 = 7 * lanes;
        long row = (long)k * r;
        // Eight scalars, not a struct: ILGPU kept a loop-carried struct of them in a 64-byte local-memory frame.
        ulong w0 = Word(weights, row, part, r), w1 = Word(weights, row, part + lanes, r), w2 = Word(weights, row, part + l2, r), w3 = Word(weights, row, part + l3, r);
        ulong w4 = Word(weights, row, part + l4, r), w5 = Word(weights, row, part + l5, r), w6 = Word(weights, row, part + l6, r), w7 = Word(weights, row, part + l7, r);
        GpuDependentLaunch.Wait();
        int pop = 0;
        for (int c = 0; c < r; c += step)
        {
            int i = c + part;
            if (c > 0)
            {
                w0 = Word(weights, row, i, r); w1 = Word(weights, row, i + lanes, r); w2 = Word(weights, row, i + l2, r); w3 = Word(weights, row, i + l3, r);
                w4 = Word(weights, row, i + l4, r); w5 = Word(weights, row, i + l5, r); w6 = Word(weights, row, i + l6, r); w7 = Word(weights, row, i + l7, r);
            }
            // Every load of the chunk before the first popcount, in the source: with each popc's inline-PTX scaffolding
            // between them, ptxas kept ILGPU's order (the constant-shape pair's 8 input loads went one round trip each).
            ulong x0 = Word(input, inBase, i, r), x1 = Word(input, inBase, i + lanes, r), x2 = Word(input, inBase, i + l2, r), x3 = Word(input, inBase, i + l3, r);
            ulong x4 = Word(input, inBase, i + l4, r), x5 = Word(input, inBase, i + l5, r), x6 = Word(input, inBase, i + l6, r), x7 = Word(input, inBase, i + l7, r);
            pop += Pop(w0 ^ x0) + Pop(w1 ^ x1) + Pop(w2 ^ x2) + Pop(w3 ^ x3) + Pop(w4 ^ x4) + Pop(w5 ^ x5) + Pop(w6 ^ x6) + Pop(w7 ^ x7);
        }
        pop = SumStep(pop, 1, lanes);
        pop = SumStep(pop, 2, lanes);
        pop = SumStep(pop, 4, lanes);
        pop = SumStep(pop, 8, lanes);
        pop = SumStep(pop, 16, lanes);
        return p.KH * p.KW * p.InC - 2 * pop;
    }

    /// <summary>popc of a 64-bit word as two 32-bit popc: <see cref="GpuPopc.Count(ulong)"/>'s 64-bit operand left a dead
    /// 8-byte local-memory store per call in ptxas's output (a 64-byte stack frame and 8 STL per chunk here; none this way).</summary>
    static int Pop(ulong x) => GpuPopc.Count((uint)x) + GpuPopc.Count((uint)(x >> 32));

    /// <summary>Word <paramref name="i"/> of the row at <paramref name="at"/>, zero past its end <paramref name="r"/>:
    /// branch-free (a clamped load and a select), so a chunk's loads are in flight together.</summary>
    static ulong Word(ArrayView<ulong> v, long at, int i, int r)
    {
        bool ok = i < r;
        ulong w = v[ok ? at + i : at];
        return ok ? w : 0UL;
    }

    /// <summary>One butterfly step: adds lane ^ m when m is inside the channel's lanes (every lane shuffles, whatever L is).</summary>
    static int SumStep(int v, int m, int lanes)
    {
        int other = Warp.ShuffleXor(v, m);
        return m < lanes ? v + other : v;
    }
}
