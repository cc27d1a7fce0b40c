using System.Reflection;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Reference;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>Programmatic dependent launch (<see cref="GpuDependentLaunch"/>, <see cref="CudaGraphEdges"/>): which edges of
/// a captured graph may become programmatic, that every GPU kernel begins with the predecessor wait (what makes those
/// edges safe), the support decision, and that sessions give the same scores with the option on and off. The programmatic
/// graphs themselves need an sm_90 CUDA device and are checked there (hepbnn verify, bench's paired "dependent launch
/// off" row against the reference).</summary>
[Collection(GpuCollection.Name)]
public class DependentLaunchTests(CpuAcceleratorFixture fixture)
{
    const int Kernel = CudaGraphEdges.KernelNode, Memcpy = 1, Memset = 2;

    static int[] Select(int[] from, int[] to, bool[] waits, GraphEdgeData[]? data = null)
    {
        data ??= new GraphEdgeData[from.Length];
        var picked = new int[from.Length];
        int n = CudaGraphEdges.Select(from, to, waits, data, picked);
        return picked[..n];
    }

    [Fact]
    public void OnlyPlainKernelToWaitingKernelEdgesBecomeProgrammatic()
    {
        // H2D → k1 → k2 → k3 → D2H: the copies keep plain edges on both sides, the two kernel→kernel edges convert.
        Assert.Equal([1, 2], Select([Memcpy, Kernel, Kernel, Kernel], [Kernel, Kernel, Kernel, Memcpy], [true, true, true, false]));
        // a kernel that does not begin with the wait is never launched early, whatever precedes it
        Assert.Equal([2], Select([Memcpy, Kernel, Kernel, Kernel], [Kernel, Kernel, Kernel, Memcpy], [true, false, true, false]));
        // a memset feeding a kernel, a kernel feeding a memset: plain
        Assert.Empty(Select([Memset, Kernel], [Kernel, Memset], [true, false]));
        // an edge that already carries edge data is left as it is
        var data = new GraphEdgeData[] { default, GraphEdgeData.Programmatic, new() { FromPort = 2, Type = 1 } };
        Assert.Equal([0], Select([Kernel, Kernel, Kernel], [Kernel, Kernel, Kernel], [true, true, true], data));
        Assert.Empty(Select([], [], []));
    }

    [Fact]
    public void EdgeDataHasCudaLayout()
    {
        Assert.Equal(8, System.Runtime.CompilerServices.Unsafe.SizeOf<GraphEdgeData>());
        var p = GraphEdgeData.Programmatic;
        Assert.Equal((1, 0, 1), (p.FromPort, p.ToPort, p.Type)); // CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC, CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC
        Assert.True(default(GraphEdgeData).IsDefault);
        Assert.False(p.IsDefault);
    }

    /// <summary>Every static kernel entry of HepBnn.Ops.Gpu (the block-kernel signature and the fused kernels') starts with
    /// the wait. A kernel that did not would simply never get a programmatic edge (the device checks the same thing), so
    /// this test is what keeps new kernels from silently losing dependent launch.</summary>
    [Fact]
    public void EveryGpuKernelBeginsWithThePredecessorWait()
    {
        var blockKernel = typeof(GpuThreadPerOutput).GetMethod("BitsKernel", BindingFlags.Static | BindingFlags.NonPublic)!
            .GetParameters().Select(p => p.ParameterType).ToArray();
        var kernels = typeof(GpuConfiguration).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(GpuConfiguration).Namespace)
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(m => m.ReturnType == typeof(void) && (m.GetParameters().Select(p => p.ParameterType).SequenceEqual(blockKernel)
                        || m.DeclaringType == typeof(GpuFusedKernel) && m.Name.StartsWith("Kernel", StringComparison.Ordinal)))
            .ToList();
        Assert.True(kernels.Count >= 20, $"found only {kernels.Count} kernels: {string.Join(", ", kernels.Select(Name))}");
        var missing = kernels.Where(m => !GpuDependentLaunch.StartsWithWait(m)).Select(Name).ToList();
        Assert.True(missing.Count == 0, $"kernels that do not begin with GpuDependentLaunch.Wait(): {string.Join(", ", missing)}");
        static string Name(MethodInfo m) => $"{m.DeclaringType!.Name}.{m.Name}";
    }

    static void NoWait(int x) { _ = x; }
    static void WaitLater(int x) { _ = x.ToString(); GpuDependentLaunch.Wait(); }
    static void WaitFirst(int x) { GpuDependentLaunch.Wait(); _ = x.ToString(); }
    static void PrologueFirst(int x) { GpuDependentLaunch.Prologue(); _ = x.ToString(); GpuDependentLaunch.Wait(); }
    static void PrologueLater(int x) { _ = x.ToString(); GpuDependentLaunch.Prologue(); GpuDependentLaunch.Wait(); }

    [Fact]
    public void StartsWithWaitReadsTheFirstInstruction()
    {
        MethodInfo M(string name) => typeof(DependentLaunchTests).GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic)!;
        Assert.False(GpuDependentLaunch.StartsWithWait(M(nameof(NoWait))));
        Assert.False(GpuDependentLaunch.StartsWithWait(M(nameof(WaitLater))));
        Assert.True(GpuDependentLaunch.StartsWithWait(M(nameof(WaitFirst))));
        Assert.True(GpuDependentLaunch.StartsWithWait(M(nameof(PrologueFirst))));
        Assert.False(GpuDependentLaunch.StartsWithWait(M(nameof(PrologueLater))));
    }

    [Fact]
    public void SupportNeedsSm90AndPtx78()
    {
        Assert.Null(GpuDependentLaunch.Unsupported("9.0", "8.3"));
        Assert.Null(GpuDependentLaunch.Unsupported("10.0", "7.8"));
        Assert.Contains("sm_86", GpuDependentLaunch.Unsupported("8.6", "8.3"));
        Assert.Contains("PTX ISA 7.5", GpuDependentLaunch.Unsupported("9.0", "7.5"));
        Assert.Contains("unknown", GpuDependentLaunch.Unsupported("9.0", null));
        Assert.Contains("sm_unknown", GpuDependentLaunch.Unsupported("unknown", "8.3"));
        Assert.True(GpuDependentLaunch.Decide("force", out var forced) && forced is null);
        Assert.False(GpuDependentLaunch.Decide("0", out var off));
        Assert.Contains("HEPBNN_PDL=0", off);
        Assert.False(GpuDependentLaunch.Decide("sometimes", out var bad));
        Assert.Contains("HEPBNN_PDL must be", bad);
    }

    [Fact]
    public void CpuAcceleratorGraphsReportNoProgrammaticEdges()
    {
        var gpu = fixture.Resources.RequireGpu();
        Assert.NotNull(CudaGraph.ProgrammaticEdgesProblem(gpu)); // ILGPU's CPU accelerator: no graphs at all
        Assert.Null(CudaGraph.TryCapture(gpu, () => { }, out var problem, dependentLaunch: true));
        Assert.NotNull(problem);
    }

    [Fact]
    public void SessionsMatchTheReferenceWithDependentLaunchOnAndOff()
    {
        var model = ModelZoo.Vgg3(2);
        var blocks = BlockCompiler.Compile(model);
        string[] assignment = ["gpu.tensor-core", "gpu.tensor-core-wide", "cpu.scalar", "gpu.warp-reduce"];
        var images = ModelZoo.RandomImages(model.InputShape, 2, 77);
        foreach (bool? pdl in new bool?[] { true, false, null })
        {
            using var session = new InferenceSession(model, blocks, assignment.Select(ConfigurationRegistry.Find).ToArray(),
                new SessionOptions { MaxBatch = 2, DependentLaunch = pdl }, fixture.Resources);
            var raw = new int[2 * session.ScoresPerImage];
            session.Run(images, 2, raw);
            ReferenceScores.AssertMatch(model, images, 2, raw, session.ScoresPerImage, $"dependent launch {pdl}");
            Assert.DoesNotContain("programmatic edge", session.GpuExecution); // no CUDA graphs on the CPU accelerator
        }
    }

    /// <summary>`hepbnn verify`'s whole-session row: multi-kernel segments (all on the GPU with rotated configurations,
    /// every third block on the CPU, a kernel before a fused range), each run repeatedly against the reference.</summary>
    [Fact]
    public void VerifierChecksMultiKernelSegmentSessions()
    {
        var models = new List<(BnnModel, int)> { (TinyModels.Vgg3Like(41), 2) };
        IKernelConfiguration[] configs = [ConfigurationRegistry.Find("gpu.thread-per-output"), ConfigurationRegistry.Find("gpu.warp-reduce"),
            ConfigurationRegistry.Find(GpuFused.ConfigurationName)];
        var report = Verifier.Run(fixture.Resources, configs, models, segmentRepeats: 2);
        var row = report.Results.Single(r => r.Configuration == Verifier.SegmentsRow);
        Assert.True(row.Mismatches == 0, row.FirstMismatch);
        Assert.Equal(4, row.BlocksChecked); // all on the GPU twice, every third block on the CPU, a kernel + a fused range
        Assert.StartsWith("0 programmatic", row.Note); // the CPU accelerator has no graphs
        Assert.True(report.Passed);
    }
}
