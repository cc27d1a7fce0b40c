global using GpuDensePairLauncher = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, HepBnn.Ops.Gpu.GpuBlockParams,
    HepBnn.Ops.Gpu.GpuBlockParams, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>,
    ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<int>, int>;

using HepBnn.Devices;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// A dense pair (<see cref="GpuTensorCoreDensePair"/>) as one runner (<see cref="GpuPairRange"/>): one counter per row tile.
/// </summary>
public sealed class GpuDensePairRange : GpuPairRange
{
    readonly GpuTensorCoreDensePair _pair;
    readonly GpuDensePairLauncher _kernel;

    /// <summary>Whether the scores leave through shared memory as one coalesced run per row tile.</summary>
    public bool StagedScores { get; }

    private protected override string Kind => "dense pair";

    internal GpuDensePairRange(IKernelConfiguration configuration, GpuTensorCoreDensePair pair, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch,
        GpuDensePairLauncher kernel, GpuBlockData first, GpuBlockData second, bool stagedScores)
        : base(configuration, gpu, blocks, maxBatch, first, second, blocks[0].OutputBufferWords(Math.Max(1, maxBatch)),
            GpuTensorCoreDensePair.RowTiles(first.Params, Math.Max(1, maxBatch)))
    {
        StagedScores = stagedScores;
        _pair = pair; _kernel = kernel;
    }

    private protected override void Launch(GpuBuffer input, GpuBuffer output, int batch)
    {
        var p = First.Params;
        var launch = _pair.LaunchFor(ref p, batch, Gpu);
        var q = Second.Params;
        q.Batch = batch;
        _kernel(Gpu.Stream, launch, p, q, input.View, Mid.View, output.View.Cast<int>(), First.Weights, First.Meta, First.PoolAnd,
            Second.Weights, Second.Meta, Counters.View, StagedScores ? 1 : 0);
    }
}
