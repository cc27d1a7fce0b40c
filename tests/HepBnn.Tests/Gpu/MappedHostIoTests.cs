using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Reference;
using HepBnn.Runtime;

namespace HepBnn.Tests.Gpu;

/// <summary>Mapped host I/O (<see cref="GpuHostIo"/>): the switch, and that a session asking for it where it cannot be
/// used (ILGPU's CPU accelerator) says why and copies as before, with the reference's scores. The mapped path itself
/// needs a CUDA device and is checked there (bench's "mapped host" rows run the found plan against the reference).</summary>
[Collection(GpuCollection.Name)]
public class MappedHostIoTests(CpuAcceleratorFixture fixture)
{
    [Fact]
    public void SwitchParsesItsValues()
    {
        Assert.Equal(GpuHostIo.Copies, GpuHostIoSwitch.Parse(null));
        Assert.Equal(GpuHostIo.Copies, GpuHostIoSwitch.Parse(" 0 "));
        Assert.Equal(GpuHostIo.MappedOutput, GpuHostIoSwitch.Parse("out"));
        Assert.Equal(GpuHostIo.Mapped, GpuHostIoSwitch.Parse("ALL"));
        var e = Assert.Throws<HepBnnException>(() => GpuHostIoSwitch.Parse("sometimes"));
        Assert.Contains("HEPBNN_MAPPED_IO", e.Message);
    }

    [Fact]
    public void UnsupportedDeviceFallsBackToCopies()
    {
        Assert.NotNull(GpuHostIoSwitch.Unsupported(fixture.Resources.RequireGpu()));
        var model = ModelZoo.Vgg3(3);
        var blocks = BlockCompiler.Compile(model);
        string[] assignment = ["gpu.tensor-core", "gpu.tensor-core-wide", "gpu.warp-reduce", "gpu.thread-per-output"];
        var images = ModelZoo.RandomImages(model.InputShape, 1, 5);
        using var session = new InferenceSession(model, blocks, assignment.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = 1, HostIo = GpuHostIo.Mapped, CudaGraphs = false }, fixture.Resources);
        var raw = new int[session.ScoresPerImage];
        session.Run(images, 1, raw);
        var expected = ReferenceEngine.RawScores(model, images);
        for (int k = 0; k < expected.Length; k++) Assert.True(expected[k] == raw[k], $"class {k}");
    }
}
