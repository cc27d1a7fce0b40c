using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>gpu.tensor-core-wide-2m-r128-pipe (kept out of the registry, built here) on ILGPU's CPU accelerator (the copies emulated as plain loads and stores,
/// the MMAs by their emulation): the band kernel's shapes, each group running a run of about three row tiles through
/// both band buffers (and a shorter last run), bit for bit against the reference.</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreWide2MPipeTests(CpuAcceleratorFixture fixture)
{
    [Theory]
    [MemberData(nameof(GpuTensorCoreWide2MBandTests.Shapes), MemberType = typeof(GpuTensorCoreWide2MBandTests))]
    public void BlocksMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch) =>
        GpuTensorCoreWide2MBandTests.CheckShape(fixture, new GpuTensorCoreWide2MPipe(), 9100, h, w, c, k, kernel, stride, pad, pool, batch);

    /// <summary>Out of the registry (docs/results/h200-conv9: 1.23x slower than band on VGG7's conv2 at b256, slower on
    /// every block it takes), so the profiler never measures it.</summary>
    [Fact]
    public void NotRegistered() =>
        Assert.DoesNotContain(ConfigurationRegistry.All, c => c.Name == new GpuTensorCoreWide2MPipe().Name);
}
