global using GpuDensePairLauncher = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, HepBnn.Ops.Gpu.GpuBlockParams,
    HepBnn.Ops.Gpu.GpuBlockParams, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>,
    ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<int>, int>;

using HepBnn.Devices;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// A dense pair (<see cref="GpuTensorCoreDensePair"/>) as one runner: reads the first block's input, writes the second
/// block's scores, keeps the first block's bits in its own device buffer and one counter per row tile (zero between runs:
/// each row tile's last group resets its own). Everything is uploaded in the constructor; <see cref="Run"/> only launches.
/// Like <see cref="GpuFusedRange"/> it stands for both blocks (its <see cref="Block"/> is the second).
/// </summary>
public sealed class GpuDensePairRange : IBlockRunner
{
    readonly GpuTensorCoreDensePair _pair;
    readonly GpuDevice _gpu;
    readonly GpuDensePairLauncher _kernel;
    readonly GpuBlockData _first, _second;
    readonly GpuMemory<ulong> _mid;
    readonly GpuMemory<int> _counters;

    public IReadOnlyList<Block> Blocks { get; }
    public Block Block => Blocks[^1];
    public IKernelConfiguration Configuration { get; }
    public int MaxBatch { get; }
    /// <summary>Whether the scores leave through shared memory as one coalesced run per row tile.</summary>
    public bool StagedScores { get; }

    internal GpuDensePairRange(IKernelConfiguration configuration, GpuTensorCoreDensePair pair, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch,
        GpuDensePairLauncher kernel, GpuBlockData first, GpuBlockData second, bool stagedScores)
    {
        StagedScores = stagedScores;
        Configuration = configuration; _pair = pair; _gpu = gpu; Blocks = blocks; MaxBatch = maxBatch; _kernel = kernel; _first = first; _second = second;
        if (maxBatch < 1 || maxBatch > GpuConfiguration.MaxBatch) throw new HepBnnException($"{configuration.Name}: batch {maxBatch} out of range 1..{GpuConfiguration.MaxBatch}");
        try
        {
            _mid = gpu.Allocate<ulong>(blocks[0].OutputBufferWords(maxBatch));
            _counters = gpu.Upload(new int[GpuTensorCoreDensePair.RowTiles(first.Params, maxBatch)]);
        }
        catch
        {
            _mid?.Dispose(); // the block data are the caller's to dispose until this constructor returns
            throw;
        }
    }

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not GpuBuffer gin || output is not GpuBuffer gout || gin.Gpu != _gpu || gout.Gpu != _gpu)
            throw new HepBnnException($"{Configuration.Name} runs on buffers of its GPU; the plan must copy data to the GPU before block {Blocks[0].Name}");
        if (batch < 1 || batch > MaxBatch || gin.Words < Blocks[0].InputBufferWords(batch) || gout.Words < Block.OutputBufferWords(batch))
            throw new HepBnnException($"{Configuration.Name}: batch {batch} or buffers too small for blocks {Blocks[0].Name}..{Block.Name}");
        var p = _first.Params;
        var launch = _pair.LaunchFor(ref p, batch, _gpu);
        var q = _second.Params;
        q.Batch = batch;
        try
        {
            _kernel(_gpu.Stream, launch, p, q, gin.View, _mid.View, gout.View.Cast<int>(), _first.Weights, _first.Meta, _first.PoolAnd,
                _second.Weights, _second.Meta, _counters.View, StagedScores ? 1 : 0);
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e))
        {
            throw GpuFaults.Wrap(e, $"launching {Configuration.Name} (dense pair) for blocks {Blocks[0].Name}..{Block.Name} (batch {batch})", _gpu);
        }
    }

    public void Dispose()
    {
        _first.Dispose();
        _second.Dispose();
        _mid?.Dispose();
        _counters?.Dispose();
    }
}
