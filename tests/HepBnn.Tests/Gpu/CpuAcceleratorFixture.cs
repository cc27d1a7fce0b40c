using HepBnn.Devices;
namespace HepBnn.Tests.Gpu;

/// <summary>One ILGPU CPU accelerator acting as the GPU for all GPU tests: its context and the compiled kernels are
/// created once, as in a session.</summary>
public sealed class CpuAcceleratorFixture : IDisposable
{
    public ExecutionResources Resources { get; } = new(cpuThreads: 2, GpuSelection.CpuAccelerator);
    public void Dispose() => Resources.Dispose();
}

[CollectionDefinition(Name)]
public sealed class GpuCollection : ICollectionFixture<CpuAcceleratorFixture>
{
    public const string Name = "GPU on the ILGPU CPU accelerator";
}
