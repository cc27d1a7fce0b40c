using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// A dense bits block and a dense scores block (VGG7's fc1 8192 → 1024 and fc2 1024 → 10) in ONE kernel at small batch:
/// the first block runs exactly as <see cref="GpuGemv"/>'s bits kernel into a device buffer of the range's own; then each
/// group counts itself done on its sample's counter, and the last group of a sample (every byte of the sample's bits
/// stored, device fences on both sides) computes the sample's scores as <see cref="GpuGemv"/>'s scores kernel does, with
/// as many lanes per class as make the classes one pass (<see cref="TailLanes"/>), and resets the counter for the next run. Why: at batch 1 a graph node costs 1.3–3.7 µs on the
/// H200 (docs/results/h200-session10-final), about what fc2's whole work takes; the pair saves that node. The buffer's
/// rows are padded to 128 bytes, so no cache line holds two samples' bits: the last group of one sample cannot have
/// pulled another sample's unfinished bytes into its SM's L1. Not a per-block configuration: <see cref="GpuFused"/>'s
/// registry instance runs a dense pair through it up to <see cref="MaxBatch"/> samples (<see cref="Takes"/>).
/// </summary>
public static class GpuGemvPair
{
    /// <summary>Largest batch a session may be prepared for: GpuGemv is built for 1..16 samples (a grid row per sample, the
    /// weights read again per sample); above, the tensor-core pair's 64-row tiles fill.</summary>
    public const int MaxBatch = 16;
    /// <summary>Words of a sample's row of the first block's bits in the range's buffer: one 128-byte line.</summary>
    const int LineWords = 16;

    /// <summary>Whether <paramref name="blocks"/> prepared for <paramref name="maxBatch"/> samples run as a GEMV pair.</summary>
    public static bool Takes(IReadOnlyList<Block> blocks, int maxBatch) => maxBatch <= MaxBatch && RangeRefusal(blocks) is null;

    /// <summary>Why <paramref name="blocks"/> are no GEMV pair (null when they are): two consecutive dense blocks of bits
    /// input, the first with bits output, the second with scores.</summary>
    public static string? RangeRefusal(IReadOnlyList<Block> blocks)
    {
        if (blocks.Count != 2) return "not two blocks";
        Block a = blocks[0], b = blocks[1];
        if (b.Index != a.Index + 1) return "not consecutive blocks";
        if (GpuGemv.Refuses(a) is { } why) return $"{a.Name}: {why}";
        if (GpuGemv.Refuses(b) is { } why2) return $"{b.Name}: {why2}";
        if (a.Output != BlockOutput.Bits) return $"{a.Name} does not output bits";
        return b.Output != BlockOutput.Scores ? $"{b.Name} does not output scores" : null;
    }

    /// <summary>The runner of <paramref name="blocks"/> (<see cref="RangeRefusal"/> must accept them).</summary>
    internal static GpuGemvPairRange PrepareRange(IKernelConfiguration configuration, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch)
    {
        if (RangeRefusal(blocks) is { } why) throw new HepBnnException($"{configuration.Name}: blocks {blocks[0].Name}..{blocks[^1].Name} as a GEMV pair: {why}");
        if (maxBatch < 1 || maxBatch > MaxBatch) throw new HepBnnException($"{configuration.Name}: a GEMV pair runs 1..{MaxBatch} samples (batch {maxBatch})");
        var kernel = gpu.Kernel<GpuGemvPairLauncher>("gpu.fused/gemv-pair", a => a.LoadKernel<GpuBlockParams, GpuBlockParams, ArrayView<ulong>, ArrayView<ulong>,
            ArrayView<int>, ArrayView<ulong>, ArrayView<int>, ArrayView<ulong>, ArrayView<int>, ArrayView<int>>(PairKernel));
        var p = GpuBlockParams.From(blocks[0]);
        var q = GpuBlockParams.From(blocks[1]);
        // The buffer's rows: the first block writes and the second reads them at the padded stride.
        p.OutSample = q.InSample = (p.OutSample + LineWords - 1) / LineWords * LineWords;
        var first = new GpuBlockData(gpu, blocks[0], GpuWeightLayout.ChannelMajor, p);
        GpuBlockData? second = null;
        try
        {
            second = new GpuBlockData(gpu, blocks[1], GpuWeightLayout.ChannelMajor, q);
            var constant = ConstantKernel(gpu, kernel, first.Params, second.Params, maxBatch);
            return new GpuGemvPairRange(configuration, gpu, blocks, maxBatch, kernel, first, second, constant);
        }
        catch
        {
            first.Dispose();
            second?.Dispose();
            throw;
        }
    }

    /// <summary>The kernel compiled now (at Prepare, never inside a graph capture) with both blocks' launch parameters at
    /// <paramref name="batch"/> as constants, as the "-const" twins of the per-block configurations are
    /// (<see cref="GpuConstantShapes"/>: at batch 1 the index arithmetic before the first load is part of the latency);
    /// null on ILGPU's CPU accelerator (it runs .NET code) or with HEPBNN_CONST_SHAPES=0.</summary>
    static (GpuGemvPairLauncher Kernel, GpuBlockParams P, GpuBlockParams Q)? ConstantKernel(GpuDevice gpu, GpuGemvPairLauncher kernel,
        GpuBlockParams p, GpuBlockParams q, int batch)
    {
        if (!EnvironmentSwitches.ConstantShapes || kernel.Target is not ILGPU.Runtime.Cuda.CudaKernel cuda
            || gpu.Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator accelerator) return null;
        Launch(ref p, ref q, batch, gpu);
        var method = cuda.CompiledKernel.SourceMethod;
        (GpuBlockParams, GpuBlockParams) both = (p, q);
        var constant = gpu.Kernel<GpuGemvPairLauncher>($"gpu.fused/gemv-pair-const/{p.Key()}/{q.Key()}", a =>
            GpuConstantKernel.Load<GpuGemvPairLauncher>(accelerator, gpu.ConstantBackend, method, cuda.Specialization, [both.Item1, both.Item2],
                $"gemv-pair-const-b{batch}", unroll: false));
        return (constant, p, q);
    }

    /// <summary>Grid and group at <paramref name="batch"/>: the first block's, as <see cref="GpuGemv"/> launches it.</summary>
    internal static KernelConfig Launch(ref GpuBlockParams p, ref GpuBlockParams q, int batch, GpuDevice gpu)
    {
        var launch = Gemv.Launch(ref p, batch, gpu);
        q.Lanes = TailLanes(q.K, launch.GroupDim.X);
        return launch;
    }

    /// <summary>Lanes per channel of the scores tail: the most (a power of two ≤ 32) that still give every one of the
    /// <paramref name="classes"/> a share of the group's <paramref name="threads"/>, so the tail is one pass of loads where
    /// the classes fit (VGG's 10 classes in 128 threads: 8 lanes each) instead of a pass per 8 channels.</summary>
    internal static int TailLanes(int classes, int threads)
    {
        int lanes = GpuDevice.WarpSize;
        while (lanes > 1 && (long)classes * lanes > threads) lanes >>= 1;
        return lanes;
    }

    static readonly GpuGemv Gemv = new();

    static void PairKernel(GpuBlockParams p, GpuBlockParams q, ArrayView<ulong> input, ArrayView<ulong> mid, ArrayView<int> outScores,
        ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> weights2, ArrayView<int> meta2, ArrayView<int> counters)
    {
        GpuDependentLaunch.Prologue(); // GpuGemv.ByteOfBits waits for the predecessor after loading the weights
        var last = SharedMemory.Allocate<int>(1);
        int n = Grid.IdxY;
        GpuGemv.ByteOfBits(p, input, mid, weights, meta, SharedMemory.Allocate<int>(GpuGemv.GroupChannels));
        // This group's byte is in before it counts itself done; the sample's last group goes on.
        if (!GpuLastGroup.Arrives(counters, n, Grid.DimX, last)) return;
        MemoryFence.DeviceLevel();
        // The scores: Group.DimX / L channels per pass (TailLanes). Reduce's wait returns at once here (the grid's
        // predecessors were waited for in the first half).
        int lanes = q.Lanes, j = Group.IdxX / lanes, part = Group.IdxX - j * lanes, perPass = Group.DimX / lanes;
        for (int k0 = 0; k0 < q.K; k0 += perPass)
        {
            int k = k0 + j;
            bool valid = k < q.K;
            int x = GpuGemv.Reduce(q, mid, (long)n * q.InSample, weights2, valid ? k : 0, part, lanes);
            if (valid && part == 0) outScores[(long)n * q.OutSample + k] = x;
        }
    }
}
