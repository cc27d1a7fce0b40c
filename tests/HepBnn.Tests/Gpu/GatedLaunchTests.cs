using HepBnn.Tests.Support;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Tests.Gpu;

/// <summary>The gated launch (<see cref="GpuLaunchGate"/>: the first GPU segment's graph launched before the input copy,
/// waiting on the GPU for it): the switch, when it is wanted, and that where it cannot be used (ILGPU's CPU accelerator:
/// no graphs, no stream memory operations) a session says nothing about a gate, queues nothing early and gives the
/// reference's scores. The gated graph itself needs a CUDA device and is checked there (`HEPBNN_GATED_LAUNCH=on hepbnn
/// verify --device gpu`, and every b256 run of a plan starting on the GPU, against the reference).</summary>
[Collection(GpuCollection.Name)]
public class GatedLaunchTests(CpuAcceleratorFixture fixture)
{
    [Theory]
    [InlineData(null, GpuLaunchGate.GateMode.Auto)]
    [InlineData(" AUTO ", GpuLaunchGate.GateMode.Auto)]
    [InlineData("on", GpuLaunchGate.GateMode.On)]
    [InlineData("1", GpuLaunchGate.GateMode.On)]
    [InlineData("off", GpuLaunchGate.GateMode.Off)]
    [InlineData("0", GpuLaunchGate.GateMode.Off)]
    [InlineData("Memop", GpuLaunchGate.GateMode.Memop)]
    public void SwitchParsesItsValues(string? raw, GpuLaunchGate.GateMode expected)
    {
        var problems = new List<string>();
        Assert.Equal(expected, EnvironmentSwitches.Read("HEPBNN_GATED_LAUNCH", raw, "auto, on/1, memop or off/0", EnvironmentSwitches.GateModeOf,
            GpuLaunchGate.GateMode.Auto, problems));
        Assert.Empty(problems);
    }

    [Fact]
    public void BadSwitchValueIsReportedByName()
    {
        var problems = new List<string>();
        Assert.Equal(GpuLaunchGate.GateMode.Auto, EnvironmentSwitches.Read("HEPBNN_GATED_LAUNCH", "sometimes", "auto, on/1, memop or off/0",
            EnvironmentSwitches.GateModeOf, GpuLaunchGate.GateMode.Auto, problems));
        Assert.Equal("HEPBNN_GATED_LAUNCH must be auto, on/1, memop or off/0 (got 'sometimes')", Assert.Single(problems));
    }

    [Fact]
    public void AutoGatesOnlyInputsWhoseCopyIsLongerThanALaunchAndOnlyWhereItWon()
    {
        Assert.SkipUnless(EnvironmentSwitches.GatedLaunch == GpuLaunchGate.GateMode.Auto,
            $"HEPBNN_GATED_LAUNCH is set to {EnvironmentSwitches.GatedLaunch} in this process's environment");
        Assert.False(GpuLaunchGate.WantedFor(784));                            // VGG3 batch 1: never
        Assert.False(GpuLaunchGate.WantedFor(StagingCopy.StreamingMinBytes - 1));
        Assert.Equal(GpuLaunchGate.AutoGates, GpuLaunchGate.WantedFor(StagingCopy.StreamingMinBytes));
        Assert.Equal(GpuLaunchGate.AutoGates, GpuLaunchGate.WantedFor(256 * 784)); // VGG3 batch 256
    }

    [Fact]
    public void CpuAcceleratorRefusesTheGateAndRunsAsBefore()
    {
        var gpu = fixture.Resources.RequireGpu();
        Assert.NotNull(GpuLaunchGate.Unsupported(gpu));
        Assert.Null(GpuLaunchGate.TryCreate(gpu, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));

        // 64 KB a sample: every run's input is large enough for auto to want the gate.
        var model = new ModelBuilder(new Shape3(128, 128, 4), 71).InputConv(8, 3, 4, 1).Pool().BnSign().Flatten().Dense(10).Build("gated-71");
        var blocks = BlockCompiler.Compile(model);
        string[] assignment = ["gpu.thread-per-output", "gpu.warp-reduce"];
        using var session = new InferenceSession(model, blocks, assignment.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = 2 }, fixture.Resources);
        var images = ModelZoo.RandomImages(model.InputShape, 2, 71);
        foreach (int batch in new[] { 2, 1, 2 })
        {
            var raw = new int[batch * session.ScoresPerImage];
            Array.Fill(raw, int.MinValue);
            session.Run(images.AsSpan(0, (int)(batch * model.InputShape.Elements)), batch, raw);
            ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage, $"seed 71, batch {batch}");
        }
        Assert.DoesNotContain("gated launch (", session.GpuExecution);
    }
}
