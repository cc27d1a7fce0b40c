using HepBnn.Tests.Support;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Tests.Gpu;

/// <summary>The completion waits (<see cref="GpuWait"/>, HEPBNN_GPU_WAIT): the switch, the polling loop's exits (word set,
/// stream idle, device fault reported through the synchronize, timeout) with the driver replaced by counters, and that on
/// ILGPU's CPU accelerator (no graphs) nothing but the synchronize is asked for. The graphs' signal kernel and the word
/// itself need a CUDA device and are checked there (`HEPBNN_GPU_WAIT=word hepbnn verify --device gpu`).</summary>
[Collection(GpuCollection.Name)]
public class GpuCompletionTests(CpuAcceleratorFixture fixture)
{
    const int Success = 0, NotReady = 600, IllegalAddress = 700;
    static readonly long LongTimeout = System.Diagnostics.Stopwatch.Frequency * 60;

    [Theory]
    [InlineData(null, EnvironmentSwitches.DefaultGpuWait)]
    [InlineData("sync", GpuWait.Sync)]
    [InlineData(" Query ", GpuWait.Query)]
    [InlineData("WORD", GpuWait.Word)]
    public void SwitchParsesItsValues(string? raw, GpuWait expected)
    {
        var problems = new List<string>();
        Assert.Equal(expected, EnvironmentSwitches.Read("HEPBNN_GPU_WAIT", raw, "sync, query or word", EnvironmentSwitches.GpuWaitOf,
            EnvironmentSwitches.DefaultGpuWait, problems));
        Assert.Empty(problems);
    }

    [Fact]
    public void BadSwitchValueIsReportedByName()
    {
        var problems = new List<string>();
        EnvironmentSwitches.Read("HEPBNN_GPU_WAIT", "spin", "sync, query or word", EnvironmentSwitches.GpuWaitOf, EnvironmentSwitches.DefaultGpuWait, problems);
        Assert.Equal("HEPBNN_GPU_WAIT must be sync, query or word (got 'spin')", Assert.Single(problems));
    }

    [Fact]
    public void WordWaitReturnsWhenTheWordIsSetAndQueriesOnlyEveryFewPolls()
    {
        int polls = 0, queries = 0;
        GpuCompletion.Poll(() => ++polls == 1000, () => { queries++; return NotReady; }, () => throw new Xunit.Sdk.XunitException("no fault"),
            GpuCompletion.QueryEvery, LongTimeout, "test device");
        Assert.Equal(1000, polls);
        Assert.Equal(999 / GpuCompletion.QueryEvery, queries);
    }

    [Fact]
    public void AnIdleStreamEndsTheWaitEvenIfTheWordWasNotSeen()
    {
        int queries = 0;
        GpuCompletion.Poll(() => false, () => ++queries == 3 ? Success : NotReady, () => throw new Xunit.Sdk.XunitException("no fault"),
            4, LongTimeout, "test device");
        Assert.Equal(3, queries);
    }

    [Fact]
    public void QueryWaitAsksTheDriverEveryPoll()
    {
        int queries = 0;
        GpuCompletion.Poll(null, () => ++queries == 5 ? Success : NotReady, () => { }, 1, LongTimeout, "test device");
        Assert.Equal(5, queries);
    }

    [Fact]
    public void ADeviceFaultIsReportedByTheSynchronizeNotAHang()
    {
        var fault = new GpuUnavailableException("waiting for the GPU (stream synchronize): an illegal memory access");
        var thrown = Assert.Throws<GpuUnavailableException>(() =>
            GpuCompletion.Poll(() => false, () => IllegalAddress, () => throw fault, 2, LongTimeout, "test device"));
        Assert.Same(fault, thrown);
    }

    [Fact]
    public void AFaultTheSynchronizeDoesNotReportStillThrows()
    {
        var e = Assert.Throws<GpuUnavailableException>(() => GpuCompletion.Poll(() => false, () => IllegalAddress, () => { }, 2, LongTimeout, "test device"));
        Assert.Contains("cuStreamQuery answered CUresult 700", e.Message);
        Assert.Contains("test device", e.Message);
    }

    [Fact]
    public void ARunThatNeverEndsTimesOutWithAClearError()
    {
        var e = Assert.Throws<HepBnnException>(() => GpuCompletion.Poll(() => false, () => NotReady, () => { }, 16, 0, "test device"));
        Assert.IsNotType<GpuUnavailableException>(e);
        Assert.Contains("did not finish", e.Message);
        Assert.Contains("HEPBNN_GPU_WAIT=sync", e.Message);
    }

    [Fact]
    public void CpuAcceleratorHasNoGraphsSoNothingButTheSynchronizeWaits()
    {
        var gpu = fixture.Resources.RequireGpu();
        Assert.Null(GpuCompletion.Unsupported(gpu, GpuWait.Sync));
        Assert.NotNull(MappedHostWord.Unsupported(gpu));
        Assert.Null(MappedHostWord.TryCreate(gpu, "a test word", out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
        Assert.Null(CudaGraph.TryCapture(gpu, () => { }, out var noGraph, wait: GpuWait.Word));
        Assert.NotNull(noGraph);
    }

    [Theory]
    [InlineData(GpuWait.Sync)]
    [InlineData(GpuWait.Query)]
    [InlineData(GpuWait.Word)]
    public void EverySessionWaitGivesTheReferenceScoresWhereThereAreNoGraphs(GpuWait wait)
    {
        var model = new ModelBuilder(new Shape3(12, 12, 1), 83).InputConv(8, 3, 1, 1).Pool().BnSign().Flatten().Dense(10).Build("wait-83");
        var blocks = BlockCompiler.Compile(model);
        string[] assignment = ["gpu.thread-per-output", "gpu.warp-reduce"];
        using var session = new InferenceSession(model, blocks, assignment.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = 3, GpuWait = wait }, fixture.Resources);
        var images = ModelZoo.RandomImages(model.InputShape, 3, 83);
        foreach (int batch in new[] { 3, 1 })
        {
            var raw = new int[batch * session.ScoresPerImage];
            Array.Fill(raw, int.MinValue);
            session.Run(images.AsSpan(0, (int)(batch * model.InputShape.Elements)), batch, raw);
            ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage, $"seed 83, batch {batch}, wait {wait}");
        }
        Assert.StartsWith("eager launches", session.GpuExecution);
        Assert.DoesNotContain("completion word", session.GpuExecution);
    }
}
