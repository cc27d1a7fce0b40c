using HepBnn.Devices;
namespace HepBnn.Ops;

/// <summary>A parallel configuration: a device plus a way of splitting one block's work (the paper's core idea).
/// Implementations are small stateless classes; <see cref="Prepare"/> does all set-up (weights uploaded, kernels
/// compiled, scratch allocated) so that <see cref="IBlockRunner.Run"/> does no allocation.</summary>
public interface IKernelConfiguration
{
    /// <summary>Stable identifier used in plans and tables, e.g. "cpu.simd", "gpu.thread-per-output".</summary>
    string Name { get; }
    DeviceKind Device { get; }
    string Description { get; }
    bool Supports(Block block);
    IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources);
}

/// <summary>One block bound to one configuration, ready to run on buffers that live on its device.</summary>
public interface IBlockRunner : IDisposable
{
    Block Block { get; }
    IKernelConfiguration Configuration { get; }
    /// <summary>Reads <paramref name="batch"/> samples of the block's input and writes its output. Asynchronous on a GPU
    /// (ordered on the session's stream); complete on return on the CPU.</summary>
    void Run(TensorBuffer input, TensorBuffer output, int batch);
}
