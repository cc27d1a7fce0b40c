using System.Reflection;
using System.Text.RegularExpressions;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Planning;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit;

namespace HepBnn.Tests.Gpu;

/// <summary>The constant-shape twins ("…-const", <see cref="GpuConstantShapes"/>): their PTX, compiled here for sm_90 with
/// ILGPU's PTX backend (no GPU needed), has the block's shapes folded in (fewer integer divisions, fewer instructions
/// than the run-time-shape kernel, the same MMAs at least); on ILGPU's CPU accelerator the twins run the run-time-shape
/// kernels (bit-exact like every configuration: GpuConfigurationTests covers them through the registry) and report
/// themselves as the runner's configuration. `hepbnn verify` on the GPU runs the compiled constant kernels.</summary>
[Collection(GpuCollection.Name)]
public class GpuConstantShapesTests(CpuAcceleratorFixture fixture, ITestOutputHelper output)
{
    /// <summary>VGG7's conv4-like block at a small size: 3×3 conv of 128 → 128 channels on 8×8, pool 2 (9 MMA steps).</summary>
    static Block DeepBlock(int seed)
    {
        var model = new ModelBuilder(new Shape3(8, 8, 3), seed).InputConv(128).BnSign().Conv(128).Pool().BnSign().Flatten().Dense(10).Build("const-deep");
        return BlockCompiler.Compile(model)[1];
    }

    public static TheoryData<string, int> KernelsAndBatches() => new() { { "BitsKernelDeep", 1 }, { "BitsKernelDeep", 3 }, { "SplitBitsKernel", 1 } };

    [Theory]
    [MemberData(nameof(KernelsAndBatches))]
    public void ConstantPtxHasTheShapesFolded(string kernel, int batch)
    {
        var block = DeepBlock(5);
        var config = ConfigurationRegistry.Find(kernel == "SplitBitsKernel" ? "gpu.tensor-core-wide-split-const" : "gpu.tensor-core-wide-deep-const");
        using var runner = (GpuBlockRunner)config.Prepare(block, batch, fixture.Resources);
        Assert.Same(config, runner.Configuration);
        Assert.False(runner.HasConstantKernel); // the CPU accelerator runs .NET code: nothing compiled there
        var p = runner.LaunchParams(batch) with { Lanes = 128 }; // a group of 4 warps, as on the H200
        var method = typeof(GpuTensorCoreWide).Assembly.GetTypes().Select(t => t.GetMethod(kernel, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
            .Single(m => m is not null)!;
        using var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        string generic = ((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), KernelSpecialization.Empty)).PTXAssembly;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string constant = GpuConstantKernel.Compile(backend, method, KernelSpecialization.Empty, p, unroll: false).PTXAssembly;
        double first = clock.Elapsed.TotalMilliseconds;
        clock.Restart();
        _ = GpuConstantKernel.Compile(backend, method, KernelSpecialization.Empty, p with { Batch = p.Batch + 1 }, unroll: false);
        output.WriteLine($"constant compile {first:F0} ms, again {clock.Elapsed.TotalMilliseconds:F0} ms");
        clock.Restart();
        string unrolled = GpuConstantKernel.Compile(backend, method, KernelSpecialization.Empty, p, unroll: true).PTXAssembly;
        output.WriteLine($"unrolled compile {clock.Elapsed.TotalMilliseconds:F0} ms");
        var (g, c, u) = (Counts(generic), Counts(constant), Counts(unrolled));
        if (Environment.GetEnvironmentVariable("HEPBNN_TEST_PTX_DIR") is { Length: > 0 } dir)
        {
            File.WriteAllText(Path.Combine(dir, $"{kernel}-b{batch}.ptx"), generic);
            File.WriteAllText(Path.Combine(dir, $"{kernel}-b{batch}-const.ptx"), constant);
            File.WriteAllText(Path.Combine(dir, $"{kernel}-b{batch}-unrolled.ptx"), unrolled);
        }
        output.WriteLine($"{kernel} b{batch} (KSteps {p.KSteps}, TilesPerGroup {p.TilesPerGroup}): run-time shapes {g}; constant {c}; unrolled {u}");
        Assert.True(g.Divisions > 0, $"the run-time-shape kernel divides by shapes: {g}");
        // By constants ILGPU still writes div/rem, which ptxas turns into multiplies; the split kernel keeps its two
        // divisions by the launch's split count (a grid dimension, not a parameter).
        Assert.Equal(kernel == "SplitBitsKernel" ? 2 : 0, c.Divisions);
        Assert.True(c.ConstantDivisions > 0 || g.ConstantDivisions == 0, $"constant {c}");
        Assert.True(c.Instructions < g.Instructions, $"constant {c} vs run-time {g}");
        Assert.True(c.Mma >= g.Mma && c.Mma > 0, $"constant {c} vs run-time {g}");
        // Unrolled (HEPBNN_CONST_UNROLL): the MMAs' CPU emulation is gone (its shuffles, and its loop of 4 in every MMA),
        // and the deep product and popcounts run straight: 8 MMAs per step and one per step for popc(a), once per tile
        // of the group. The split kernel's share of the steps depends on its grid index (not a constant): there only
        // the emulation goes, so fewer loops, the MMAs as before.
        // (12 shuffles per emulated MMA; the epilogue's own few stay)
        Assert.True(u.Shuffles * 10 < c.Shuffles, $"unrolled {u} vs constant {c}: the emulation's shuffles should be gone");
        Assert.True(u.BackEdges < c.BackEdges, $"unrolled {u} vs constant {c}");
        if (kernel == "BitsKernelDeep")
            Assert.True(u.Mma >= 9 * p.KSteps, $"unrolled {u}: not the {9 * p.KSteps} MMAs of a tile's straight product and popcounts");
    }

    /// <summary>The band kernel's twins are offered to the profiler at every batch (its per-group set-up divides by shapes at
    /// every batch), the other twins only up to <see cref="GpuConstantShapes.MaxProfiledBatch"/>.</summary>
    [Fact]
    public void BandTwinsAreOfferedAtEveryBatch()
    {
        var band = ConfigurationRegistry.Find("gpu.tensor-core-wide-2m-r128-band-const");
        var deep = ConfigurationRegistry.Find("gpu.tensor-core-wide-deep-const");
        Assert.Equal(EnvironmentSwitches.ConstantShapes, GpuConstantShapes.Offered(band, 256));
        Assert.False(GpuConstantShapes.Offered(deep, 256));
        Assert.Equal(EnvironmentSwitches.ConstantShapes, GpuConstantShapes.Offered(deep, 1));
    }

    /// <summary>The band kernel on a VGG7-conv2-like block (128 → 128 channels, 3×3, pad 1, pool 2) with its launch
    /// parameters as constants: no division by a register left (the band's words, rows and offset table), fewer
    /// instructions, the same MMAs at least.</summary>
    [Fact]
    public void BandConstantPtxHasTheShapesFolded()
    {
        var model = new ModelBuilder(new Shape3(16, 16, 3), 11).InputConv(128).BnSign().Conv(128).Pool().BnSign().Flatten().Dense(10).Build("const-band");
        var block = BlockCompiler.Compile(model)[1];
        var config = ConfigurationRegistry.Find("gpu.tensor-core-wide-2m-r128-band-const");
        using var runner = (GpuBlockRunner)config.Prepare(block, 4, fixture.Resources);
        var p = runner.LaunchParams(4);
        var method = typeof(GpuTensorCoreWide2MBand).GetMethod("BitsKernelBand", BindingFlags.Static | BindingFlags.NonPublic)!;
        using var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var spec = new KernelSpecialization(64, 8);
        var g = Counts(((PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), spec)).PTXAssembly);
        var c = Counts(GpuConstantKernel.Compile(backend, method, spec, p, unroll: false).PTXAssembly);
        output.WriteLine($"band b4 (KSteps {p.KSteps}, TilesPerGroup {p.TilesPerGroup}): run-time shapes {g}; constant {c}");
        Assert.True(g.Divisions > 0, $"the run-time-shape kernel divides by shapes: {g}");
        Assert.Equal(0, c.Divisions);
        Assert.True(c.Instructions < g.Instructions, $"constant {c} vs run-time {g}");
        Assert.True(c.Mma >= g.Mma && c.Mma > 0, $"constant {c} vs run-time {g}");
    }

    /// <summary><see cref="Divisions"/>: div/rem by a register (a run-time divisor); <see cref="ConstantDivisions"/>: by an immediate.</summary>
    internal readonly record struct PtxCounts(int Instructions, int Mma, int Divisions, int ConstantDivisions, int Branches, int ParamLoads,
        int Shuffles = 0, int BackEdges = 0)
    {
        public override string ToString() => $"{Instructions} instructions, {Mma} mma, {Divisions} div/rem by a register, {ConstantDivisions} by a constant, {Branches} branches, {ParamLoads} param loads, {Shuffles} shuffles, {BackEdges} back edges";
    }

    /// <summary>Instruction lines of a PTX listing (not directives, labels or braces), and some kinds of them.</summary>
    internal static PtxCounts Counts(string ptx)
    {
        var lines = ptx.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('.') && !l.StartsWith("//") && !l.EndsWith(':') && l is not ("{" or "}") && !l.StartsWith(')')).ToList();
        return new(lines.Count, lines.Count(l => l.StartsWith("mma.")), lines.Count(l => Regex.IsMatch(l, @"^(div|rem)\.\S+\s+%\w+, %?\w+, %\w+;")),
            lines.Count(l => Regex.IsMatch(l, @"^(div|rem)\.\S+\s+%\w+, %?\w+, -?\d+;")),
            lines.Count(l => Regex.IsMatch(l, @"^(@%p\d+\s+)?bra")), lines.Count(l => l.StartsWith("ld.param")),
            lines.Count(l => l.StartsWith("shfl.")), BackEdges(ptx));
    }

    /// <summary>Branches to a label above them: the loops ptxas sees.</summary>
    static int BackEdges(string ptx)
    {
        var all = ptx.Split('\n');
        var labels = new Dictionary<string, int>();
        for (int i = 0; i < all.Length; i++)
            if (Regex.Match(all[i], @"^\s*(\S+):\s*$") is { Success: true } m) labels[m.Groups[1].Value] = i;
        int back = 0;
        for (int i = 0; i < all.Length; i++)
            if (Regex.Match(all[i], @"bra(\.uni)?\s+(\S+);") is { Success: true } m && labels.TryGetValue(m.Groups[2].Value, out int at) && at < i) back++;
        return back;
    }

    [Fact]
    public void TwinsAreOfferedOnlyAtSmallBatches()
    {
        var twin = ConfigurationRegistry.Find("gpu.tensor-core-wide-deep-const");
        var original = ConfigurationRegistry.Find("gpu.tensor-core-wide-deep");
        Assert.Equal(EnvironmentSwitches.ConstantShapes, GpuConstantShapes.Offered(twin, 1));
        Assert.Equal(EnvironmentSwitches.ConstantShapes, GpuConstantShapes.Offered(twin, GpuConstantShapes.MaxProfiledBatch));
        Assert.False(GpuConstantShapes.Offered(twin, GpuConstantShapes.MaxProfiledBatch + 1));
        Assert.True(GpuConstantShapes.Offered(original, 256));
        var block = DeepBlock(6);
        Assert.Equal(original.Supports(block), twin.Supports(block));
        Assert.Equal(13, ConfigurationRegistry.Gpu.OfType<GpuConstantShapes>().Count()); // a rolled and an unrolled twin of each of 6, band's rolled one
        var unrolled = (GpuConstantShapes)ConfigurationRegistry.Find("gpu.tensor-core-wide-deep-const-unrolled");
        Assert.True(unrolled.Unrolled);
        Assert.False(((GpuConstantShapes)twin).Unrolled);
        Assert.Same(((GpuConstantShapes)twin).Original.GetType(), unrolled.Original.GetType());
        Assert.Equal(EnvironmentSwitches.ConstantShapes && EnvironmentSwitches.ConstantUnroll, GpuConstantShapes.Offered(unrolled, 1));
        Assert.False(GpuConstantShapes.Offered(unrolled, GpuConstantShapes.MaxProfiledBatch + 1));
    }

    [Fact]
    public void VerifyChecksTwinsByDefaultOnlyWithTheSwitchSetExplicitly()
    {
        // every twin compiles a kernel per block case: `hepbnn verify` takes them only where profiles here can plan them
        foreach (var twin in ConfigurationRegistry.Gpu.OfType<GpuConstantShapes>())
            Assert.Equal(EnvironmentSwitches.ConstantShapesEverywhereInVerify, GpuConstantShapes.CheckedByDefault(twin));
        Assert.All(ConfigurationRegistry.All.Where(c => c is not GpuConstantShapes), c => Assert.True(GpuConstantShapes.CheckedByDefault(c)));
    }

    [Fact]
    public void ProfilerCompilesTwinsOnlyOfCloseOriginals()
    {
        var twin = (GpuConstantShapes)ConfigurationRegistry.Find("gpu.tensor-core-wide-deep-const");
        static BlockTiming T(string config, double us, bool pruned = false) =>
            new(1, "conv2", config, DeviceKind.Gpu, new TimingStats(us, us, us, 5), Pruned: pruned);
        Assert.True(BlockBenchmark.TwinWorthwhile(twin, [T("gpu.tensor-core", 4.0), T("gpu.tensor-core-wide-deep", 5.0)], 4.0));
        Assert.False(BlockBenchmark.TwinWorthwhile(twin, [T("gpu.tensor-core", 4.0), T("gpu.tensor-core-wide-deep", 5.3)], 4.0));
        Assert.False(BlockBenchmark.TwinWorthwhile(twin, [T("gpu.tensor-core-wide-deep", 4.0, pruned: true)], 4.0));
        Assert.False(BlockBenchmark.TwinWorthwhile(twin, [T("gpu.tensor-core", 4.0)], 4.0)); // original not measured
    }

    [Fact]
    public void ParamsEqualityIsFieldByField()
    {
        var a = new GpuBlockParams { K = 64, KSteps = 9, Batch = 1 };
        var b = a;
        Assert.True(a == b);
        Assert.Equal(a.Key(), b.Key());
        b.Batch = 2;
        Assert.True(a != b);
        Assert.NotEqual(a.Key(), b.Key());
        Assert.False(a.Equals((object)"x"));
    }
}
