using HepBnn.Devices;
using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>Common shape of the GPU configurations: a kernel for bits output and one for int scores, a weight layout,
/// and how a batch maps onto the grid (batch is always a grid dimension). Prepare uploads the block and loads the
/// kernel (compiled once per device); Run only launches on the session stream.</summary>
public abstract class GpuConfiguration : IKernelConfiguration
{
    /// <summary>Largest batch: the batch is a grid dimension, limited to 65535 in CUDA's Y and Z.</summary>
    public const int MaxBatch = 65535;

    public abstract string Name { get; }
    public abstract string Description { get; }
    public DeviceKind Device => DeviceKind.Gpu;
    public virtual bool Supports(Block block) => SupportsChannelSums || !block.HasChannelSums;
    /// <summary>Why <see cref="Supports"/> refuses <paramref name="block"/> (null when it does not, or says nothing).</summary>
    public virtual string? Refusal(Block block) => !SupportsChannelSums && block.HasChannelSums ? ChannelSumsRefusal : null;

    /// <summary>Whether the kernels evaluate a first layer with per-channel divisors (per-input-channel sums and the
    /// 64-bit epilogue, <see cref="GpuBlockMath.Decide"/>; DESIGN.md "First layer").</summary>
    protected virtual bool SupportsChannelSums => true;

    public const string ChannelSumsRefusal = "an 8-bit image block with per-channel normalization divisors (per-input-channel sums not built in this kernel)";

    protected virtual GpuWeightLayout Layout => GpuWeightLayout.ChannelMajor;
    /// <summary>Static kernel methods (ILGPU compiles static methods only).</summary>
    protected abstract GpuKernelMethod Bits { get; }
    protected abstract GpuKernelMethod Scores { get; }
    /// <summary>Hints ILGPU writes into the kernels' PTX (.maxntid, .minnctapersm): a configuration that needs more resident
    /// groups than ptxas would leave by registers asks for them here (ptxas then caps the registers per thread at
    /// 65536 / (threads × groups)); none by default. CUDA only: they are PTX directives, and ILGPU's CPU accelerator
    /// refuses a specialization, so its tests run the same kernel bodies without them.</summary>
    protected virtual KernelSpecialization Specialization => KernelSpecialization.Empty;
    /// <summary>Fills the configuration's own fields of the parameters (lanes, stage size).</summary>
    protected virtual GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu) => p;
    /// <summary>Grid and group for <paramref name="batch"/> samples; may set per-launch fields of <paramref name="p"/> (a copy).</summary>
    protected internal abstract KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu);
    /// <summary>What a launch's parameters take from its input buffer (after <see cref="Launch"/>): nothing here;
    /// <see cref="GpuTensorCoreWide2MPipe"/> passes the input's device address for its asynchronous copies.</summary>
    protected internal virtual void Bind(ref GpuBlockParams p, ArrayView<ulong> input) { }

    public virtual IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources)
    {
        if (!Supports(block)) throw new HepBnnException($"{Name} does not support block {block.Name}{(Refusal(block) is { } why ? ": " + why : "")}");
        if (maxBatch > MaxBatch) throw new HepBnnException($"{Name}: batch {maxBatch} exceeds the GPU grid limit {MaxBatch}");
        var gpu = resources.RequireGpu();
        bool scores = block.Output == BlockOutput.Scores;
        var method = scores ? Scores : Bits;
        var spec = Specialization;
        var kernel = gpu.Kernel<GpuKernelLauncher>($"{Name}/{(scores ? "scores" : "bits")}",
            a => a is ILGPU.Runtime.Cuda.CudaAccelerator cuda && PromotesLocals ? LoadPromoted(cuda, gpu, method, spec)
                : spec == KernelSpecialization.Empty || a.AcceleratorType != AcceleratorType.Cuda ? a.LoadKernel(method) : a.LoadKernel(method, spec));
        var data = CreateData(gpu, block, Specialize(GpuBlockParams.From(block), gpu));
        return new GpuBlockRunner(this, gpu, data, kernel);
    }

    /// <summary>Whether the profiler measures this configuration's constant-shape twins (<see cref="GpuConstantShapes"/>) at
    /// every batch, not only up to <see cref="GpuConstantShapes.MaxProfiledBatch"/>: for kernels whose run-time-shape
    /// set-up (divisions by shapes) runs once per group and is a large share of their instructions at every batch.</summary>
    protected internal virtual bool TwinsAtEveryBatch => false;

    /// <summary>Whether the kernels' PTX goes through <see cref="GpuPtxLocals"/> before ptxas (CUDA): for kernels with
    /// <c>cp.async</c>, in which ptxas leaves ILGPU's inline-PTX operand locals in memory.</summary>
    protected virtual bool PromotesLocals => false;

    /// <summary>Compiles <paramref name="method"/> as the accelerator would (the device's own PTX backend, the same
    /// specialization), promotes its operand locals to registers in the PTX and loads that.</summary>
    static GpuKernelLauncher LoadPromoted(ILGPU.Runtime.Cuda.CudaAccelerator accelerator, GpuDevice gpu, GpuKernelMethod method, KernelSpecialization spec)
    {
        var compiled = (ILGPU.Backends.PTX.PTXCompiledKernel)gpu.ConstantBackend.Compile(
            ILGPU.Backends.EntryPoints.EntryPointDescription.FromExplicitlyGroupedKernel(method.Method), spec);
        return accelerator.LoadKernel(GpuPtxLocals.Promote(compiled, out _)).CreateLauncherDelegate<GpuKernelLauncher>()
            ?? throw new HepBnnException($"kernel {method.Method.Name}: ILGPU gave no launcher of the GPU kernel signature");
    }

    /// <summary>Uploads the block's constants; a configuration with its own weight/meta layout overrides this.</summary>
    protected virtual GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p) => new(gpu, block, Layout, p);

    /// <summary>Groups of <paramref name="group"/> threads covering <paramref name="threads"/> per sample; batch in Y.</summary>
    protected static KernelConfig Linear(long threads, int group, int batch) =>
        new(new Index3D(checked((int)((threads + group - 1) / group)), batch, 1), new Index3D(group, 1, 1));

    public override string ToString() => Name;
}

/// <summary>One block bound to a GPU configuration: launches on the session stream, allocates nothing.</summary>
public sealed class GpuBlockRunner : IBlockRunner
{
    readonly GpuConfiguration _config;
    readonly GpuDevice _gpu;
    readonly GpuBlockData _data;
    readonly GpuKernelLauncher _kernel;
    IKernelConfiguration? _twin;
    GpuKernelLauncher? _constant;   // the kernel compiled with _constantParams as constants (GpuConstantKernel)
    GpuBlockParams _constantParams;

    internal GpuBlockRunner(GpuConfiguration config, GpuDevice gpu, GpuBlockData data, GpuKernelLauncher kernel)
    {
        _config = config; _gpu = gpu; _data = data; _kernel = kernel;
    }

    public Block Block => _data.Block;
    public IKernelConfiguration Configuration => _twin ?? _config;
    /// <summary>Whether launches at the batch given to <see cref="CompileConstant"/> run a constant-shape kernel.</summary>
    internal bool HasConstantKernel => _constant is not null;

    /// <summary>The parameters a launch at <paramref name="batch"/> passes (what a constant-shape kernel bakes in).</summary>
    internal GpuBlockParams LaunchParams(int batch)
    {
        var p = _data.Params;
        _config.Launch(ref p, batch, _gpu);
        return p;
    }

    /// <summary>Compiles (now, at Prepare: never inside a graph capture) this block's kernel with its launch parameters at
    /// <paramref name="batch"/> as constants; launches at that batch run it, any other batch the run-time-shape kernel.
    /// On ILGPU's CPU accelerator nothing is compiled (it runs .NET code, not ILGPU's IR). The runner then reports
    /// <paramref name="twin"/> as its configuration.</summary>
    internal void CompileConstant(int batch, IKernelConfiguration twin)
    {
        _twin = twin;
        if (_kernel.Target is not ILGPU.Runtime.Cuda.CudaKernel cuda || _gpu.Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator accelerator) return;
        var p = LaunchParams(batch);
        var method = cuda.CompiledKernel.SourceMethod;
        var specialization = cuda.Specialization;
        string key = $"{twin.Name}/{method.DeclaringType?.Name}.{method.Name}/{p.Key()}";
        _constant = _gpu.Kernel<GpuKernelLauncher>(key, a =>
            GpuConstantKernel.Load(accelerator, _gpu.ConstantBackend, method, specialization, p, $"{twin.Name}-{Block.Name}-b{batch}",
                unroll: twin is GpuConstantShapes { Unrolled: true }));
        _constantParams = p;
    }

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not GpuBuffer gin || output is not GpuBuffer gout || gin.Gpu != _gpu || gout.Gpu != _gpu)
            throw new HepBnnException($"{_config.Name} runs on buffers of its GPU; the plan must copy data to the GPU before block {Block.Name}");
        if (batch < 1 || gin.Words < Block.InputBufferWords(batch) || gout.Words < Block.OutputBufferWords(batch))
            throw new HepBnnException($"{_config.Name}: buffers too small for block {Block.Name} at batch {batch}");
        var p = _data.Params;
        var launch = _config.Launch(ref p, batch, _gpu);
        _config.Bind(ref p, gin.View);
        var o = gout.View;
        var kernel = _constant is not null && p == _constantParams ? _constant : _kernel;
        try { kernel(_gpu.Stream, launch, p, gin.View, o, o.Cast<uint>(), o.Cast<int>(), _data.Weights, _data.Meta, _data.PoolAnd); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, $"launching {_config.Name} for block {Block.Name} (batch {batch})", _gpu); }
    }

    public void Dispose() => _data.Dispose();
}
