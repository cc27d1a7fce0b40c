using HepBnn.Devices;

namespace HepBnn.Runtime;

/// <summary>Options of an <see cref="InferenceSession"/> (in the spirit of ONNX Runtime's SessionOptions).</summary>
public sealed class SessionOptions
{
    /// <summary>Largest batch <see cref="InferenceSession.Run(ReadOnlySpan{byte}, int, Span{int})"/> accepts; buffers are sized for it once.</summary>
    public int MaxBatch { get; init; } = 1;
    /// <summary>CPU worker threads (default: all logical cores).</summary>
    public int? CpuThreads { get; init; }
    /// <summary>Which device plays the GPU (default: a CUDA GPU if one is usable).</summary>
    public GpuSelection Gpu { get; init; } = GpuSelection.Auto;
    /// <summary>Run each run of consecutive GPU blocks as one captured CUDA graph (null: the environment's
    /// HEPBNN_CUDA_GRAPHS, on by default). Off, or where capture is impossible, the blocks are launched one by one with the
    /// same results; <see cref="InferenceSession.GpuExecution"/> says which and why.</summary>
    public bool? CudaGraphs { get; init; }
}
