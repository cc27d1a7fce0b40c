using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Runtime;

namespace HepBnn.Tests.Support;

/// <summary>Sessions whose GPU part is one fused range, for the range runners' tests.</summary>
public static class FusedSessions
{
    /// <summary>A session of <paramref name="model"/> with its last two blocks as ONE range of <paramref name="fused"/> (a dense
    /// pair) and the blocks before them on cpu.scalar, CUDA graphs off; <paramref name="blocks"/>: the compiled blocks.</summary>
    public static InferenceSession LastTwoFused(BnnModel model, GpuFused fused, int maxBatch, ExecutionResources resources, out IReadOnlyList<Block> blocks)
    {
        var compiled = BlockCompiler.Compile(model);
        blocks = compiled;
        var cpu = ConfigurationRegistry.Find("cpu.scalar");
        var assignment = compiled.Select((_, i) => i < compiled.Count - 2 ? cpu : (IKernelConfiguration)fused).ToArray();
        return new InferenceSession(model, compiled, assignment, new SessionOptions { MaxBatch = maxBatch, CudaGraphs = false }, resources);
    }
}
