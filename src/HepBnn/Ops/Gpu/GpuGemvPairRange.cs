global using GpuGemvPairLauncher = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, HepBnn.Ops.Gpu.GpuBlockParams,
    HepBnn.Ops.Gpu.GpuBlockParams, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>,
    ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<int>>;

using HepBnn.Devices;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// A GEMV pair (<see cref="GpuGemvPair"/>) as one runner: reads the first block's input, writes the second block's scores,
/// keeps the first block's bits in its own device buffer (rows padded to 128 bytes) and one counter per sample (zero
/// between runs: each sample's last group resets its own). Everything is uploaded (and on CUDA the constant-shape kernel
/// for the prepared batch compiled) before the constructor; <see cref="Run"/> only launches, the constant-shape kernel at
/// the prepared batch, the run-time-shape one at any other. Like <see cref="GpuDensePairRange"/> it stands for both blocks (its <see cref="Block"/> is the second).
/// </summary>
public sealed class GpuGemvPairRange : IBlockRunner
{
    readonly GpuDevice _gpu;
    readonly GpuGemvPairLauncher _kernel;
    readonly GpuBlockData _first, _second;
    readonly GpuMemory<ulong> _mid;
    readonly GpuMemory<int> _counters;
    /// <summary>The kernel with both blocks' parameters at the prepared batch as constants (null: none, <see cref="GpuGemvPair"/>).</summary>
    readonly (GpuGemvPairLauncher Kernel, GpuBlockParams P, GpuBlockParams Q)? _constant;

    public IReadOnlyList<Block> Blocks { get; }
    public Block Block => Blocks[^1];
    public IKernelConfiguration Configuration { get; }
    public int MaxBatch { get; }

    internal GpuGemvPairRange(IKernelConfiguration configuration, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch,
        GpuGemvPairLauncher kernel, GpuBlockData first, GpuBlockData second, (GpuGemvPairLauncher, GpuBlockParams, GpuBlockParams)? constant)
    {
        Configuration = configuration; _gpu = gpu; Blocks = blocks; MaxBatch = maxBatch; _kernel = kernel; _first = first; _second = second; _constant = constant;
        try
        {
            _mid = gpu.Allocate<ulong>((long)first.Params.OutSample * maxBatch);
            _counters = gpu.Upload(new int[maxBatch]);
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
        var q = _second.Params;
        var launch = GpuGemvPair.Launch(ref p, ref q, batch, _gpu);
        try
        {
            var kernel = _constant is { } c && c.P == p && c.Q == q ? c.Kernel : _kernel;
            kernel(_gpu.Stream, launch, p, q, gin.View, _mid.View, gout.View.Cast<int>(), _first.Weights, _first.Meta, _second.Weights, _second.Meta, _counters.View);
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e))
        {
            throw GpuFaults.Wrap(e, $"launching {Configuration.Name} (GEMV pair) for blocks {Blocks[0].Name}..{Block.Name} (batch {batch})", _gpu);
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
