using HepBnn.Ops.Cpu;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Runtime;

/// <summary>
/// Runs a model with one configuration per block. Everything is set up in the constructor (weights packed and
/// uploaded, buffers for <see cref="SessionOptions.MaxBatch"/>, kernels compiled); <see cref="Run(ReadOnlySpan{byte}, int, Span{int})"/>
/// only copies the input, launches the blocks with the transfers the assignment implies, and reads the scores back.
/// <para>Thread safety: a session is <b>not</b> thread-safe. Its activation buffers, staging buffers and block runners
/// (with their scratch memory) are shared by every call, so concurrent <c>Run</c> calls on one session corrupt each
/// other's results. Use one session per thread, or a <see cref="SessionPool"/>. CPU-only sessions may share one
/// <see cref="ExecutionResources"/> (its CPU worker pool is safe to use from several threads). Dispose releases device memory.</para>
/// </summary>
public sealed class InferenceSession : IDisposable
{
    readonly ExecutionResources _resources;
    readonly IBlockRunner[] _runners;
    readonly TensorBuffer?[] _staging;   // input copy on the block's device when the data lives elsewhere
    readonly TensorBuffer[] _outputs;
    readonly HostBuffer _input;
    readonly HostBuffer _scores;
    readonly GpuSegment?[] _segmentAt = [];
    readonly CpuSegment?[] _cpuSegmentAt = [];  // the CPU segment (one parallel region) starting at each block index   // the GPU segment starting at each block index (null elsewhere)
    bool _disposed;

    public BnnModel Model { get; }
    public IReadOnlyList<Block> Blocks { get; }
    public IReadOnlyList<IKernelConfiguration> Assignment { get; }
    public int MaxBatch { get; }
    /// <summary>Scores per image: the last block's channels × output pixels (what <c>Run</c> writes per image).</summary>
    public int ScoresPerImage => Blocks[^1].OutputShape.C * Blocks[^1].OutputShape.Pixels;
    /// <summary>How <c>InferenceSession.Create</c> mapped the model (null for sessions built with a constructor).</summary>
    public MappingReport? MappingReport { get; internal set; }

    /// <summary>Runs every block with the one configuration <paramref name="configuration"/> (e.g. "cpu.scalar").</summary>
    public InferenceSession(BnnModel model, string configuration, SessionOptions? options = null)
        : this(CompiledModel.Of(model), configuration, options) { }

    /// <summary>One configuration for every block of an already compiled model (compiling is not free: VGG7's weights
    /// are ~13 M values).</summary>
    public InferenceSession(CompiledModel model, string configuration, SessionOptions? options = null)
        : this(model.Model, model.Blocks, Enumerable.Repeat(ConfigurationRegistry.Find(configuration), model.Blocks.Count).ToArray(), options, null) { }

    public InferenceSession(BnnModel model, IReadOnlyList<string> configurationPerBlock, SessionOptions? options = null)
        : this(model, BlockCompiler.Compile(model), configurationPerBlock.Select(ConfigurationRegistry.Find).ToArray(), options, null) { }

    /// <summary>Runs a plan from the optimizer, after checking that it fits this model and this machine (throws
    /// <see cref="PlanMismatchException"/> otherwise). Buffers are sized for the plan's batch unless <paramref name="options"/> says otherwise.</summary>
    public InferenceSession(BnnModel model, Plan plan, SessionOptions? options = null)
        : this(CompiledModel.Of(model), plan, options) { }

    /// <summary>A plan on an already compiled model, optionally with shared resources (not disposed by the session).</summary>
    public InferenceSession(CompiledModel model, Plan plan, SessionOptions? options = null, ExecutionResources? sharedResources = null)
        : this(model.Model, model.Blocks, PlanValidator.Validate(plan, model), options ?? new SessionOptions { MaxBatch = plan.Batch }, sharedResources,
               plan.HostIo, plan.DependentLaunch) { }

    /// <summary>An already compiled model with one configuration object per block.</summary>
    public InferenceSession(CompiledModel model, IReadOnlyList<IKernelConfiguration> assignment, SessionOptions? options = null,
        ExecutionResources? sharedResources = null)
        : this(model.Model, model.Blocks, assignment, options, sharedResources) { }

    /// <summary>Full control: precompiled blocks, configuration objects, and optionally shared resources (not disposed by the session).</summary>
    public InferenceSession(BnnModel model, IReadOnlyList<Block> blocks, IReadOnlyList<IKernelConfiguration> assignment,
        SessionOptions? options, ExecutionResources? sharedResources)
        : this(model, blocks, assignment, options, sharedResources, plannedHostIo: null, plannedDependentLaunch: null) { }

    /// <param name="plannedHostIo">the plan's measured host I/O: used unless the options or HEPBNN_MAPPED_IO name one.</param>
    /// <param name="plannedDependentLaunch">the plan's measured graph edges: used unless the options or an explicit HEPBNN_PDL say.</param>
    InferenceSession(BnnModel model, IReadOnlyList<Block> blocks, IReadOnlyList<IKernelConfiguration> assignment,
        SessionOptions? options, ExecutionResources? sharedResources, GpuHostIo? plannedHostIo, bool? plannedDependentLaunch)
    {
        options ??= new SessionOptions();
        if (options.MaxBatch < 1 || options.MaxBatch > 1 << 16) throw new HepBnnException($"MaxBatch {options.MaxBatch} out of range 1..65536");
        CheckMemory(blocks, options.MaxBatch, model.Name);
        if (assignment.Count != blocks.Count)
            throw new HepBnnException($"the assignment names {assignment.Count} configurations but the model has {blocks.Count} blocks");
        Model = model; Blocks = blocks; Assignment = assignment; MaxBatch = options.MaxBatch;
        _ownsResources = sharedResources is null;
        _resources = sharedResources ?? new ExecutionResources(options.CpuThreads, options.Gpu);
        _runners = new IBlockRunner[blocks.Count];
        _staging = new TensorBuffer?[blocks.Count];
        _outputs = new TensorBuffer[blocks.Count];
        try
        {
            _input = new HostBuffer(blocks[0].InputBufferWords(MaxBatch));
            var where = DeviceKind.Cpu;
            for (int i = 0; i < blocks.Count; i++)
            {
                var cfg = assignment[i];
                if (ConfigurationAvailability.Reason(cfg) is { } why) throw new HepBnnException($"configuration {cfg.Name} cannot run here: {why} (see `hepbnn info`)");
                if (!cfg.Supports(blocks[i])) throw new HepBnnException($"configuration {cfg.Name} does not support block {blocks[i].Name}");
                if (!_resources.TryOpen(cfg.Device))
                {
                    string message = $"configuration {cfg.Name} needs a {cfg.Device}, which this machine/session does not have";
                    if (cfg.Device == DeviceKind.Gpu) throw new Devices.GpuUnavailableException($"{message} ({_resources.GpuProblem})");
                    throw new HepBnnException(message);
                }
                try
                {
                    _runners[i] = PrepareRunner(i, blocks, assignment);
                    if (cfg.Device != where) _staging[i] = _resources.Allocate(cfg.Device, blocks[i].InputBufferWords(MaxBatch));
                    _outputs[i] = _resources.Allocate(cfg.Device, blocks[i].OutputBufferWords(MaxBatch));
                }
                catch (Devices.GpuOutOfMemoryException e)
                {
                    throw new Devices.GpuOutOfMemoryException(e.Bytes, $"{e.Message} for block {blocks[i].Name} (batch {MaxBatch})", e);
                }
                where = cfg.Device;
            }
            _scores = _outputs[^1] as HostBuffer ?? new HostBuffer(blocks[^1].OutputBufferWords(MaxBatch));
            HostIoRequested = options.HostIo ?? GpuHostIoSwitch.ExplicitFromEnvironment() ?? plannedHostIo ?? GpuHostIo.Copies;
            bool pdl = options.DependentLaunch ?? GpuDependentLaunch.ExplicitFromEnvironment() ?? plannedDependentLaunch ?? _resources.DependentLaunch;
            _segmentAt = BuildSegments(options.CudaGraphs ?? _resources.CudaGraphs, pdl, HostIoRequested, options.GpuWait ?? EnvironmentSwitches.GpuWait);
            _cpuSegmentAt = (options.CpuRegions ?? _resources.CpuRegions) ? BuildCpuSegments() : new CpuSegment?[blocks.Count];
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    bool _ownsResources;

    /// <summary>Block <paramref name="i"/>'s runner. Consecutive <c>gpu.fused</c> blocks share ONE fused range (one kernel
    /// launch for all of them), prepared at the range's first block.</summary>
    IBlockRunner PrepareRunner(int i, IReadOnlyList<Block> blocks, IReadOnlyList<IKernelConfiguration> assignment)
    {
        if (assignment[i] is not Ops.Gpu.GpuFused fused) return assignment[i].Prepare(blocks[i], MaxBatch, _resources);
        if (i > 0 && assignment[i - 1] is Ops.Gpu.GpuFused) return _runners[i - 1];
        int last = i;
        while (last + 1 < blocks.Count && assignment[last + 1] is Ops.Gpu.GpuFused) last++;
        return fused.PrepareRange([.. blocks.Skip(i).Take(last - i + 1)], MaxBatch, _resources);
    }

    /// <summary>Blocks first..last of a GPU segment as the segment runs them: one runner per block, except one per fused
    /// range (with the range's last output).</summary>
    (IBlockRunner[] Runners, GpuBuffer[] Outputs) SegmentRunners(int first, int last)
    {
        var runners = new List<IBlockRunner>();
        var outputs = new List<GpuBuffer>();
        for (int i = first; i <= last; i++)
        {
            if (i < last && ReferenceEquals(_runners[i], _runners[i + 1])) continue;
            runners.Add(_runners[i]);
            outputs.Add((GpuBuffer)_outputs[i]);
        }
        return ([.. runners], [.. outputs]);
    }

    /// <summary>The blocks fused into one kernel, as "first..last" block indices (empty when none).</summary>
    public IReadOnlyList<(int First, int Last)> FusedRanges
    {
        get
        {
            var ranges = new List<(int, int)>();
            for (int i = 0; i < _runners.Length; i++)
            {
                var blocks = _runners[i] switch { Ops.Gpu.GpuFusedRange f => f.Blocks, Ops.Gpu.GpuPairRange d => d.Blocks, _ => null };
                if (blocks is not null && (i == 0 || !ReferenceEquals(_runners[i - 1], _runners[i]))) ranges.Add((blocks[0].Index, blocks[^1].Index));
            }
            return ranges;
        }
    }

    /// <summary>The session disposes <paramref name="resources"/> (the ones it was built with) from now on:
    /// <c>Create</c> profiles and runs with one <see cref="ExecutionResources"/> and hands it over.</summary>
    internal void Adopt(ExecutionResources resources)
    {
        if (!ReferenceEquals(resources, _resources)) throw new InvalidOperationException("not this session's resources");
        _ownsResources = true;
    }

    /// <summary>Cuts the plan into GPU segments: maximal runs of GPU blocks, each entered from a host buffer (the input or a
    /// CPU block's output) and left into one (the scores or the next CPU block's input staging).</summary>
    GpuSegment?[] BuildSegments(bool graphs, bool dependentLaunch, GpuHostIo hostIo, GpuWait wait)
    {
        var at = new GpuSegment?[_runners.Length];
        for (int i = 0; i < _runners.Length; i++)
        {
            if (Assignment[i].Device != DeviceKind.Gpu) continue;
            int last = i;
            while (last + 1 < _runners.Length && Assignment[last + 1].Device == DeviceKind.Gpu) last++;
            var hostIn = i == 0 ? _input : (HostBuffer)_outputs[i - 1];
            var hostOut = last + 1 < _runners.Length ? (HostBuffer)_staging[last + 1]! : _scores;
            var first = Blocks[i];
            var end = Blocks[last];
            var (runners, outputs) = SegmentRunners(i, last);
            at[i] = new GpuSegment(_resources.RequireGpu(), i, last, runners, hostIn, (GpuBuffer)_staging[i]!,
                outputs, hostOut, first.InputBufferWords, end.OutputBufferWords, graphs, dependentLaunch, hostIo, wait);
            i = last;
        }
        return at;
    }

    /// <summary>Cuts the plan's maximal runs of two or more CPU blocks into CPU segments (one parallel region each,
    /// a barrier between blocks instead of a fork-join per block).</summary>
    CpuSegment?[] BuildCpuSegments()
    {
        var at = new CpuSegment?[_runners.Length];
        for (int i = 0; i < _runners.Length; i++)
        {
            if (_runners[i] is not ICpuRegionWork) continue;
            int last = i;
            while (last + 1 < _runners.Length && _runners[last + 1] is ICpuRegionWork && _staging[last + 1] is null) last++;
            if (last > i)
            {
                var inputs = new TensorBuffer[last - i + 1];
                for (int j = i; j <= last; j++)
                    inputs[j - i] = j > i ? _outputs[j - 1] : _staging[i] ?? (i == 0 ? _input : _outputs[i - 1]);
                at[i] = new CpuSegment(i, _runners[i..(last + 1)].Cast<ICpuRegionWork>().ToArray(), inputs, _outputs[i..(last + 1)],
                                       _resources.CpuWorkers);
            }
            i = last;
        }
        return at;
    }

    /// <summary>The host I/O this session asked of its GPU segments: <see cref="SessionOptions.HostIo"/>, else HEPBNN_MAPPED_IO
    /// where set, else the plan's measured choice (<see cref="Plan.HostIo"/>), else copies. Where the GPU cannot map host
    /// memory the segments copy instead; <see cref="GpuExecution"/> says what they do.</summary>
    public GpuHostIo HostIoRequested { get; }

    /// <summary>CPU segments of this session (runs of CPU blocks sharing one parallel region).</summary>
    public int CpuSegments => _cpuSegmentAt.Count(s => s is not null);

    /// <summary>Programmatic kernel→kernel edges in this session's captured segment graphs (dependent launch; 0 before the
    /// first run, with graphs or dependent launch off, or where the GPU cannot).</summary>
    public int ProgrammaticEdges => _segmentAt.OfType<GpuSegment>().Sum(s => s.ProgrammaticEdges);

    /// <summary>How the GPU blocks run: "no GPU blocks", "CUDA graphs (n segments)", or "eager launches: reason".</summary>
    public string GpuExecution
    {
        get
        {
            var segments = _segmentAt.OfType<GpuSegment>().ToList();
            if (segments.Count == 0) return "no GPU blocks";
            var reason = segments.Select(s => s.EagerReason).FirstOrDefault(r => r is not null);
            var fused = FusedRanges;
            string ranges = fused.Count == 0 ? "" : $"; fused in one kernel: blocks {string.Join(", ", fused.Select(r => $"{r.First}..{r.Last}"))}";
            int edges = segments.Sum(s => s.ProgrammaticEdges);
            string io = segments.Any(s => s.HostIo == GpuHostIo.Mapped) ? ", mapped host input and output"
                : segments.Any(s => s.HostIo == GpuHostIo.MappedOutput) ? ", mapped host output"
                : segments.Select(s => s.HostIoProblem).FirstOrDefault(p => p is not null) is { } noMap ? $", copies ({noMap})" : "";
            string pdl = edges > 0 ? $", {edges} programmatic edge{(edges == 1 ? "" : "s")}"
                : segments.Select(s => s.DependentLaunchProblem).FirstOrDefault(p => p is not null) is { } why ? $", no programmatic edges: {why}" : "";
            string gate = segments.Any(s => s.Gated) ? ", gated launch (graph launched before the input copy)"
                : segments.Select(s => s.GateProblem).FirstOrDefault(p => p is not null) is { } noGate ? $", no gated launch: {noGate}" : "";
            string wait = segments.Select(s => s.WaitProblem).FirstOrDefault(p => p is not null) is { } noWait ? $", synchronize wait: {noWait}"
                : segments.Any(s => s.Wait == GpuWait.Word) ? ", completion word" : segments.Any(s => s.Wait == GpuWait.Query) ? ", stream query wait" : "";
            return reason is null ? $"CUDA graphs ({segments.Count} segment{(segments.Count == 1 ? "" : "s")}, {segments.Sum(s => s.GraphCount)} captured{pdl}{io}{gate}{wait}{ranges})"
                                  : $"eager launches{(ranges.Length > 0 ? $" ({ranges[2..]})" : "")}: {reason}";
        }
    }

    /// <summary>Runs <paramref name="batch"/> images (NHWC bytes, contiguous) and writes raw integer class scores [batch][classes].</summary>
    public void Run(ReadOnlySpan<byte> images, int batch, Span<int> rawScores)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckBatch(batch);
        CheckScores(rawScores.Length, batch);
        HostPathTiming.Begin();
        StageAndRun(images, batch);
        _scores.Ints[..(batch * ScoresPerImage)].CopyTo(rawScores);
        HostPathTiming.Mark(HostPathTiming.Phase.Exit);
    }

    internal void CheckBatch(int batch)
    {
        if (batch < 1 || batch > MaxBatch) throw new HepBnnException($"batch {batch} out of range 1..{MaxBatch} (SessionOptions.MaxBatch)");
    }

    void CheckScores(int length, int batch)
    {
        if (length < batch * ScoresPerImage) throw new HepBnnException($"score buffer holds {length} values, needs {batch * ScoresPerImage}");
    }

    /// <summary>Copies the input (its length checked by <see cref="CheckInput"/>) into the page-locked staging: streaming
    /// stores over the CPU workers when the GPU reads it next (see <see cref="StagingCopy"/>).</summary>
    void Stage(ReadOnlySpan<byte> images)
    {
        if (_segmentAt[0] is not null) StagingCopy.Copy(images, _input, _resources.CpuWorkers);
        else images.CopyTo(_input.Bytes);
        HostPathTiming.Mark(HostPathTiming.Phase.Staged);
    }

    void CheckInput(ReadOnlySpan<byte> images, int batch)
    {
        long inBytes = batch * Model.InputShape.Elements;
        if (images.Length != inBytes) throw new HepBnnException($"input has {images.Length} bytes, expected {inBytes} ({batch} × {Model.InputShape})");
    }

    /// <summary>Stages the input and runs it. When the plan starts on the GPU and the input is large enough for its copy to
    /// take longer than a launch (<see cref="GpuLaunchGate.WantedFor"/>), the first segment's graph is launched first and
    /// waits on the GPU for the copy (<see cref="GpuSegment.TryLaunchGated"/>): the launch overlaps the copy.</summary>
    void StageAndRun(ReadOnlySpan<byte> images, int batch)
    {
        CheckInput(images, batch);
        if (_segmentAt[0] is { } first && GpuLaunchGate.WantedFor(images.Length) && first.TryLaunchGated(batch))
        {
            try { Stage(images); }
            finally { first.FinishGated(); }
            RunStaged(batch, first.Last + 1);
            return;
        }
        Stage(images);
        RunStaged(batch);
    }

    /// <summary>The last run's raw scores with the last layer's optional BatchNorm applied.</summary>
    void FinalScores(int batch, Span<double> scores)
    {
        var raw = _scores.Ints[..(batch * ScoresPerImage)];
        var norm = Blocks[^1].ScoreNorm;
        int k = Blocks[^1].OutChannels;
        for (int i = 0; i < raw.Length; i++)
            scores[i] = norm is null ? raw[i] : BatchNormFold.ScoreAffine(norm, i % k, raw[i]);
    }

    /// <summary>Runs the input already in the staging buffer (<see cref="_input"/>) and leaves the raw scores in
    /// <see cref="_scores"/>: every block with its transfers, one wait per GPU segment.</summary>
    void RunStaged(int batch, int start = 0)
    {
        // From a later block (after a gated first segment): its input is where that segment left it.
        TensorBuffer current = start == 0 ? _input : start < _runners.Length ? _staging[start]! : _scores;
        for (int i = start; i < _runners.Length; i++)
        {
            if (_segmentAt[i] is { } segment)
            {
                // Copy in, every GPU block, copy out, one wait (one graph launch when captured); the output lands in the
                // next CPU block's input staging or in the scores.
                segment.Run(batch);
                i = segment.Last;
                current = i + 1 < _runners.Length ? _staging[i + 1]! : _scores;
                continue;
            }
            if (_staging[i] is { } stage)
            {
                if (!ReferenceEquals(current, stage)) _resources.Copy(current, stage, Blocks[i].InputBufferWords(batch));
                current = stage;
            }
            if (_cpuSegmentAt[i] is { } cpu)
            {
                cpu.Run(batch);
                i = cpu.Last;
                current = _outputs[i];
                continue;
            }
            _runners[i].Run(current, _outputs[i], batch);
            current = _outputs[i];
        }
        if (!ReferenceEquals(current, _scores))
        {
            _resources.Copy(current, _scores, Blocks[^1].OutputBufferWords(batch));
            _resources.Synchronize(Assignment[^1].Device);
        }
    }

    IoBinding? _binding;

    /// <summary>The session's own page-locked input and score buffers, for <see cref="RunWithBinding"/> (what ONNX Runtime
    /// calls I/O binding): the caller writes images straight into <see cref="IoBinding.Input"/> and reads the raw scores
    /// from <see cref="IoBinding.RawScores"/>, so a run copies nothing on the host. Every call returns the same binding
    /// (the buffers belong to the session; a binding is as thread-unsafe as the session).</summary>
    public IoBinding CreateIoBinding()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return _binding ??= new IoBinding(this, _input, _scores);
    }

    /// <summary>Runs the first <paramref name="batch"/> images the caller wrote into <paramref name="binding"/>'s input
    /// (NHWC bytes) and leaves their raw integer scores in its <see cref="IoBinding.RawScores"/>. Same results as
    /// <see cref="Run(ReadOnlySpan{byte}, int, Span{int})"/>, without its two host copies.</summary>
    public void RunWithBinding(IoBinding binding, int batch)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(binding);
        if (!ReferenceEquals(binding.Session, this)) throw new HepBnnException("the I/O binding belongs to another session (use this session's CreateIoBinding)");
        CheckBatch(batch);
        HostPathTiming.Begin();
        HostPathTiming.Mark(HostPathTiming.Phase.Staged);
        RunStaged(batch);
        HostPathTiming.Mark(HostPathTiming.Phase.Exit);
    }

    /// <summary>Runs and applies the last layer's optional BatchNorm: final scores [batch][classes].</summary>
    public void Run(ReadOnlySpan<byte> images, int batch, Span<double> scores)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        CheckBatch(batch);
        CheckScores(scores.Length, batch);
        HostPathTiming.Begin();
        StageAndRun(images, batch);
        FinalScores(batch, scores);
        HostPathTiming.Mark(HostPathTiming.Phase.Exit);
    }

    /// <summary>Predicted class per image.</summary>
    public int[] Predict(ReadOnlySpan<byte> images, int batch)
    {
        var scores = new double[batch * ScoresPerImage];
        Run(images, batch, scores);
        var result = new int[batch];
        for (int n = 0; n < batch; n++) result[n] = ArgMax(scores.AsSpan(n * ScoresPerImage, ScoresPerImage));
        return result;
    }

    /// <summary>Runs images given as the exported ONNX model takes them: float32 <c>[N, C, H, W]</c> in raw 0..255 pixel
    /// units (<paramref name="shape"/> is checked against the model; normalisation is part of the model). Final scores [N][classes].</summary>
    public void Run(ReadOnlySpan<float> imagesNchw, ReadOnlySpan<int> shape, Span<double> scores)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int batch = ImageLayout.BatchOf(shape, Model.InputShape, imagesNchw.Length);
        CheckBatch(batch);
        CheckScores(scores.Length, batch);
        // Converted straight into the page-locked staging buffer: no second copy of the bytes.
        ImageLayout.NchwToNhwc(imagesNchw, Model.InputShape, batch, _input.Bytes[..checked((int)(batch * Model.InputShape.Elements))]);
        RunStaged(batch);
        FinalScores(batch, scores);
    }

    /// <summary>Predicted class per image, for float NCHW input as the exported ONNX model takes it.</summary>
    public int[] Predict(ReadOnlySpan<float> imagesNchw, ReadOnlySpan<int> shape)
    {
        int batch = ImageLayout.BatchOf(shape, Model.InputShape, imagesNchw.Length);
        var scores = new double[batch * ScoresPerImage];
        Run(imagesNchw, shape, scores);
        var result = new int[batch];
        for (int n = 0; n < batch; n++) result[n] = ArgMax(scores.AsSpan(n * ScoresPerImage, ScoresPerImage));
        return result;
    }

    public static int ArgMax(ReadOnlySpan<double> v)
    {
        int best = 0;
        for (int i = 1; i < v.Length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _segmentAt) s?.Dispose();
        foreach (var r in _runners.Distinct()) r?.Dispose(); // a fused range stands for several blocks
        foreach (var b in _staging) b?.Dispose();
        foreach (var b in _outputs) b?.Dispose();
        if (_ownsResources) _resources?.Dispose();
    }

    /// <summary>Activation buffers of one session at most this many bytes: a model and batch that would need more are
    /// refused before anything is allocated.</summary>
    public const long MaxActivationBytes = 1L << 35;

    static void CheckMemory(IReadOnlyList<Block> blocks, int maxBatch, string model)
    {
        long words = blocks[0].InputBufferWords(maxBatch);
        foreach (var b in blocks) words += b.OutputBufferWords(maxBatch);
        if (words > MaxActivationBytes / sizeof(ulong))
            throw new HepBnnException($"model '{model}' at batch {maxBatch} needs {words * sizeof(ulong) / (1 << 20)} MiB of activation buffers, " +
                                      $"the limit is {MaxActivationBytes / (1 << 20)} MiB; use a smaller batch");
    }
}
