using HepBnn.Devices;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The constant-shape twin of a GPU configuration ("gpu.tensor-core-wide-deep-const" …): the same kernel, weights and
/// launch, but compiled at Prepare for this block and batch with every <see cref="GpuBlockParams"/> field a constant
/// (<see cref="GpuConstantKernel"/>), so its index arithmetic folds away — at batch 1 each warp's serial instruction
/// chain is what a layer costs (docs/results/h200-chain7). A session built from a plan naming the twin compiles the
/// same kernel in its Prepare; a run at another batch than the prepared one launches the run-time-shape kernel (no
/// compile inside a graph capture). The profiler measures twins unless HEPBNN_CONST_SHAPES=0 (VGG7 b1 on the H200: 1.10x
/// faster found plan, docs/results/h200-session9-final), only up to <see cref="MaxProfiledBatch"/> (band's at every batch: <see cref="GpuConfiguration.TwinsAtEveryBatch"/>), and only where the original came within
/// <see cref="WorthwhileWithin"/> of the block's best original (not twin) (each block and batch is a compile of its own), and keeps whichever
/// is faster per block. Named in a plan or a session, a twin always runs; `hepbnn verify` checks twins named in `--configs` or with
/// HEPBNN_CONST_SHAPES=1 set explicitly (<see cref="CheckedByDefault"/>).
/// </summary>
/// Each original has two twins: "…-const" (the kernel's loops as written) and "…-const-unrolled" (<see cref="Unrolled"/>:
/// the IR fixed to CUDA and its constant-trip loops unrolled, <see cref="GpuConstantKernel"/>); the profiler measures
/// both and keeps the faster per block, because unrolling made the long-patch blocks faster and the short ones slower
/// (VGG7 b1 on the H200, one process: deep conv4 −0.2, conv5 −0.3, conv6 −0.7 µs, conv2/conv3 +0.9 µs; docs/results/h200-unroll8).
public sealed class GpuConstantShapes(GpuConfiguration original, bool unrolled = false) : IKernelConfiguration
{
    /// <summary>Largest batch the profiler measures twins at: small batches are where the index chain dominates, and
    /// every (block, batch) costs one kernel compile.</summary>
    public const int MaxProfiledBatch = 16;
    public const string Suffix = "-const", UnrolledSuffix = "-unrolled";

    public GpuConfiguration Original { get; } = original;
    /// <summary>Whether the twin's IR is fixed to CUDA and its constant-trip loops unrolled before ptxas.</summary>
    public bool Unrolled { get; } = unrolled;
    public string Name { get; } = original.Name + Suffix + (unrolled ? UnrolledSuffix : "");
    public DeviceKind Device => DeviceKind.Gpu;
    public string Description => $"{Original.Name} compiled per block and batch with every shape a constant{(Unrolled ? ", its constant-trip loops unrolled" : "")}";
    public bool Supports(Block block) => Original.Supports(block);
    /// <summary>Why <see cref="Supports"/> refuses <paramref name="block"/>: the original's reason.</summary>
    public string? Refusal(Block block) => Original.Refusal(block);

    public IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources)
    {
        var runner = Original.Prepare(block, maxBatch, resources);
        try
        {
            if (runner is not GpuBlockRunner gpu) throw new HepBnnException($"{Name}: {Original.Name} has no constant-shape form");
            gpu.CompileConstant(maxBatch, this);
            return gpu;
        }
        catch
        {
            runner.Dispose();
            throw;
        }
    }

    /// <summary>How close to a block's best GPU time an original must come for the profiler to compile and measure its
    /// twin: constant shapes removed about a quarter of the deep and split kernels' SASS instructions on the H200
    /// (docs/results/h200-spec7), so a twin cannot win from further behind.</summary>
    public const double WorthwhileWithin = 1.3;

    /// <summary>Whether the profiler measures <paramref name="config"/> at <paramref name="batch"/>.</summary>
    public static bool Offered(IKernelConfiguration config, int batch) =>
        config is not GpuConstantShapes twin
        || EnvironmentSwitches.ConstantShapes && (batch <= MaxProfiledBatch || twin.Original.TwinsAtEveryBatch)
        && (!twin.Unrolled || EnvironmentSwitches.ConstantUnroll);

    /// <summary>Whether `hepbnn verify` checks <paramref name="config"/> without being asked by name: a twin only with
    /// HEPBNN_CONST_SHAPES=1 set explicitly. Each block case compiles a twin kernel of its own (≈ 0.2–0.5 s of ILGPU plus the
    /// driver's JIT): on the H200, 30 block cases of twins and 36 whole sessions took 81 s, so the default verify's ~250
    /// cases would take ~10 minutes longer. `--configs` names them (scripts/final-check.sh does, every session).</summary>
    public static bool CheckedByDefault(IKernelConfiguration config) => config is not GpuConstantShapes || EnvironmentSwitches.ConstantShapesEverywhereInVerify;

    /// <summary>The twins: of the configurations the found batch-1 and batch-16 plans use (conv1's byte MMA and the dense
    /// blocks, the 8-bit rows kernel, the deep, split and fold kernels; docs/results/h200-session8-final), of gpu.gemv
    /// (dense blocks at small batch, where the run-time shape's index arithmetic, integer divisions included, comes before
    /// the first load), and the one (rolled) of the band kernel that the b256 plans use for conv2–conv4, measured at every
    /// batch (<see cref="GpuConfiguration.TwinsAtEveryBatch"/>).</summary>
    public static IEnumerable<IKernelConfiguration> Twins() =>
        new GpuConfiguration[] { new GpuTensorCore(), new GpuTensorCoreImageRows(), new GpuTensorCoreWideDeep(), new GpuTensorCoreWideSplit(), new GpuTensorCoreWide2MFold(), new GpuGemv() }
            .SelectMany(c => new[] { new GpuConstantShapes(c), new GpuConstantShapes(c, unrolled: true) })
            .Append(new GpuConstantShapes(new GpuTensorCoreWide2MBand())); // not unrolled: ptxas then spills (60 B for conv2)

    public override string ToString() => Name;
}
