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

/// <summary>A session built from a plan asks for the plan's measured host I/O; explicit options override it (the
/// opt-out), and a session not built from a plan keeps copies. On ILGPU's CPU accelerator the segments then copy, with
/// the reference's scores.</summary>
[Collection(GpuCollection.Name)]
public class PlannedHostIoTests(CpuAcceleratorFixture fixture)
{
    [Fact]
    public void ASessionFromAPlanUsesThePlansHostIoUnlessTheOptionsSayOtherwise()
    {
        Assert.SkipWhen(GpuHostIoSwitch.ExplicitFromEnvironment() is not null, $"{GpuHostIoSwitch.Variable} is set in this environment and overrides plans");
        var model = ModelZoo.Vgg3(3);
        var compiled = CompiledModel.Of(model);
        string[] configurations = ["gpu.tensor-core", "gpu.tensor-core-wide", "cpu.scalar", "gpu.thread-per-output"];
        var plan = Tests.Planning.PlanTestSupport.Make(model, configurations, batch: 1) with { HostIo = GpuHostIo.Mapped };
        var images = ModelZoo.RandomImages(model.InputShape, 1, 11);
        var expected = ReferenceEngine.RawScores(model, images);
        foreach (var (options, want) in new (SessionOptions, GpuHostIo)[]
                 {
                     (new SessionOptions { MaxBatch = 1 }, GpuHostIo.Mapped),
                     (new SessionOptions { MaxBatch = 1, HostIo = GpuHostIo.Copies }, GpuHostIo.Copies),
                     (new SessionOptions { MaxBatch = 1, HostIo = GpuHostIo.MappedOutput }, GpuHostIo.MappedOutput),
                 })
        {
            using var session = new InferenceSession(compiled, plan, options, fixture.Resources);
            Assert.Equal(want, session.HostIoRequested);
            var raw = new int[session.ScoresPerImage];
            session.Run(images, 1, raw);
            for (int k = 0; k < expected.Length; k++) Assert.True(expected[k] == raw[k], $"{want}: class {k}: expected {expected[k]}, got {raw[k]}");
        }
        using var unplanned = new InferenceSession(model, compiled.Blocks, configurations.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = 1 }, fixture.Resources);
        Assert.Equal(GpuHostIo.Copies, unplanned.HostIoRequested);
        using var legacy = new InferenceSession(compiled, plan with { HostIo = null }, new SessionOptions { MaxBatch = 1 }, fixture.Resources);
        Assert.Equal(GpuHostIo.Copies, legacy.HostIoRequested);
    }
}
