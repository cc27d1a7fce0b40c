global using GpuGemvPairLauncher = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, HepBnn.Ops.Gpu.GpuBlockParams,
    HepBnn.Ops.Gpu.GpuBlockParams, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>,
    ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<int>>;

using HepBnn.Devices;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// A GEMV pair (<see cref="GpuGemvPair"/>) as one runner (<see cref="GpuPairRange"/>): the first block's bits in rows padded
/// to 128 bytes, one counter per sample. On CUDA the constant-shape kernel for the prepared batch is compiled before the
/// constructor; <see cref="GpuPairRange.Run"/> launches it at the prepared batch, the run-time-shape one at any other.
/// </summary>
public sealed class GpuGemvPairRange : GpuPairRange
{
    readonly GpuGemvPairLauncher _kernel;
    /// <summary>The kernel with both blocks' parameters at the prepared batch as constants (null: none, <see cref="GpuGemvPair"/>).</summary>
    readonly (GpuGemvPairLauncher Kernel, GpuBlockParams P, GpuBlockParams Q)? _constant;

    private protected override string Kind => "GEMV pair";

    internal GpuGemvPairRange(IKernelConfiguration configuration, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch,
        GpuGemvPairLauncher kernel, GpuBlockData first, GpuBlockData second, (GpuGemvPairLauncher, GpuBlockParams, GpuBlockParams)? constant)
        : base(configuration, gpu, blocks, maxBatch, first, second, (long)first.Params.OutSample * Math.Max(1, maxBatch), Math.Max(1, maxBatch))
    {
        _kernel = kernel; _constant = constant;
    }

    private protected override void Launch(GpuBuffer input, GpuBuffer output, int batch)
    {
        var p = First.Params;
        var q = Second.Params;
        var launch = GpuGemvPair.Launch(ref p, ref q, batch, Gpu);
        var kernel = _constant is { } c && c.P == p && c.Q == q ? c.Kernel : _kernel;
        kernel(Gpu.Stream, launch, p, q, input.View, Mid.View, output.View.Cast<int>(), First.Weights, First.Meta, Second.Weights, Second.Meta, Counters.View);
    }
}
