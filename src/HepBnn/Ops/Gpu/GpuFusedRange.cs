using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;

using GpuFusedLauncher = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, ILGPU.ArrayView<HepBnn.Ops.Gpu.GpuFusedStage>,
    int, int, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<uint>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<uint>, ILGPU.ArrayView<int>,
    ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>>;

namespace HepBnn.Ops.Gpu;


/// <summary>
/// Consecutive blocks First..Last run as ONE kernel launch (<see cref="GpuFusedKernel"/>): reads the first block's
/// input, writes the last block's output, keeps the activations in between packed in its own device buffer. Everything is
/// uploaded in the constructor (stage table, concatenated constants, activation buffer for the largest batch, barrier);
/// <see cref="Run"/> only launches. As an <see cref="IBlockRunner"/> it stands for the whole range (its <see cref="Block"/>
/// is the last one): a GPU segment runs it where it would run the range's per-block runners.
/// </summary>
public sealed class GpuFusedRange : IBlockRunner
{
    /// <summary>Groups of the grid per multiprocessor at most: more would make every barrier slower (one atomic per group)
    /// for work that fits in fewer threads at the batches where fusing pays.</summary>
    public const int MaxGroupsPerMultiprocessor = 2;

    readonly GpuDevice _gpu;
    readonly GpuFusedLauncher _kernel;
    readonly GpuMemory<GpuFusedStage> _stages;
    readonly GpuMemory<ulong> _weights, _poolAnd, _act;
    readonly GpuMemory<int> _meta, _barrier;
    readonly long[] _workPerSample;   // threads each stage needs per sample (SIMT stages)
    readonly GpuFusedStage[] _stageTable;

    public IReadOnlyList<Block> Blocks { get; }
    public Block Block => Blocks[^1];
    public IKernelConfiguration Configuration { get; }
    public int MaxBatch { get; }
    public int GroupSize { get; }
    /// <summary>Groups that can be resident at once (the deadlock-free grid limit), capped at <see cref="MaxGroupsPerMultiprocessor"/> per SM.</summary>
    public int MaxGroups { get; }

    /// <summary>Threads per group (256; <c>HEPBNN_FUSED_GROUP</c> = 64, 128 or 256 for tuning on a GPU machine): at most
    /// <see cref="GpuFusedMma.MaxWarps"/> warps, the shared partial sums' size.</summary>
    public static int PreferredGroupSize { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("HEPBNN_FUSED_GROUP"), out int g) && g is 64 or 128 or 256 ? g : 256;

    /// <summary>Measurement knob (<c>HEPBNN_FUSED_SKIP</c>, a bit mask over a range's stages, default 0): the stages whose
    /// bits are set do no work, so timing the range with and without a stage gives that stage's share, and with every bit
    /// set the launch and grid barriers alone. Results are then WRONG: for `hepbnn run` timings on a GPU machine only.</summary>
    public static long SkipMask { get; } = long.TryParse(Environment.GetEnvironmentVariable("HEPBNN_FUSED_SKIP"), out long v) ? v : 0;

    /// <summary>Whether stages run on the tensor cores where they can (<see cref="GpuFusedMma"/>); else every stage is SIMT.</summary>
    public bool TensorCoreStages { get; }
    /// <summary>Each stage's thread mapping.</summary>
    public IReadOnlyList<GpuFusedMode> Modes { get; }
    /// <summary>Each stage's warps per reduction (tensor-core stages; 1 elsewhere).</summary>
    public IReadOnlyList<int> Splits => _stageTable.Select(s => s.Split).ToArray();

    internal GpuFusedRange(IKernelConfiguration configuration, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch, bool tensorCoreStages = true)
    {
        if (blocks.Count == 0) throw new HepBnnException("a fused GPU range needs at least one block");
        for (int i = 1; i < blocks.Count; i++)
            if (blocks[i].Index != blocks[i - 1].Index + 1 || blocks[i].Input != BlockInput.Bits || blocks[i - 1].Output != BlockOutput.Bits)
                throw new HepBnnException($"blocks {blocks[i - 1].Name} and {blocks[i].Name} are not consecutive blocks of one network: they cannot be fused");
        if (maxBatch < 1 || maxBatch > GpuConfiguration.MaxBatch) throw new HepBnnException($"{configuration.Name}: batch {maxBatch} out of range 1..{GpuConfiguration.MaxBatch}");
        Configuration = configuration; _gpu = gpu; Blocks = blocks; MaxBatch = maxBatch; TensorCoreStages = tensorCoreStages;
        var modes = blocks.Select((b, s) => ModeOf(b, s, maxBatch, tensorCoreStages)).ToArray();
        bool mma = modes.Any(m => m >= GpuFusedMode.TensorCore);
        _kernel = mma
            ? gpu.Kernel<GpuFusedLauncher>(configuration.Name + "/mma", a => a.LoadKernel<ArrayView<GpuFusedStage>, int, int, ArrayView<ulong>,
                ArrayView<ulong>, ArrayView<uint>, ArrayView<ulong>, ArrayView<uint>, ArrayView<int>, ArrayView<ulong>, ArrayView<int>, ArrayView<ulong>, ArrayView<int>>(GpuFusedKernel.Kernel))
            : gpu.Kernel<GpuFusedLauncher>(configuration.Name + "/simt", a => a.LoadKernel<ArrayView<GpuFusedStage>, int, int, ArrayView<ulong>,
                ArrayView<ulong>, ArrayView<uint>, ArrayView<ulong>, ArrayView<uint>, ArrayView<int>, ArrayView<ulong>, ArrayView<int>, ArrayView<ulong>, ArrayView<int>>(GpuFusedKernel.KernelSimt));
        GroupSize = Math.Min(PreferredGroupSize, gpu.Accelerator.MaxNumThreadsPerGroup) / GpuDevice.WarpSize * GpuDevice.WarpSize;
        MaxGroups = ResidentGroups(gpu, _kernel, GroupSize);

        var stages = new GpuFusedStage[blocks.Count];
        var weights = new List<ulong>(); var meta = new List<int>(); var pool = new List<ulong>();
        _workPerSample = new long[blocks.Count];
        long act = 0;
        for (int s = 0; s < blocks.Count; s++)
        {
            var b = blocks[s];
            var mode = modes[s];
            var p = GpuBlockParams.From(b);
            ulong[] w, pa;
            int[] m;
            int split = 1, window = GpuFusedMma.Window(b);
            if (mode >= GpuFusedMode.TensorCore)
            {
                (p, w, m, pa) = GpuFusedMma.Prepare(b);
                split = GpuFusedMma.SplitOf(p, window, maxBatch, GroupSize / GpuDevice.WarpSize, MaxGroups);
            }
            else (w, m, pa) = GpuBlockData.Arrays(b, GpuWeightLayout.ChannelMajor, p);
            stages[s] = new GpuFusedStage
            {
                P = p, Mode = (int)mode, Split = split, Window = window, Skip = (int)(SkipMask >> s & 1),
                WeightOffset = weights.Count, WeightLength = w.Length, MetaOffset = meta.Count, MetaLength = m.Length,
                PoolOffset = pool.Count, PoolLength = pa.Length,
                InOffset = s == 0 ? 0 : stages[s - 1].OutOffset, OutOffset = act,
            };
            _workPerSample[s] = mode switch
            {
                // Warps of the tensor-core items (a sample's share; LaunchFor rounds up per batch).
                >= GpuFusedMode.TensorCore => 0,
                GpuFusedMode.WarpPerChannel => (long)p.K * GpuDevice.WarpSize,
                GpuFusedMode.WarpPerOutput => (long)p.OutH * p.OutW * p.K * GpuDevice.WarpSize,
                _ => (long)p.OutH * p.OutW * p.ChannelSlots,
            };
            if (s < blocks.Count - 1) act += b.OutputBufferWords(maxBatch);
            weights.AddRange(w); meta.AddRange(m); pool.AddRange(pa);
        }
        Modes = modes;
        _stageTable = stages;
        if (weights.Count > int.MaxValue / 2 || meta.Count > int.MaxValue / 2)
            throw new HepBnnException($"{configuration.Name}: the constants of blocks {blocks[0].Name}..{Block.Name} exceed the fused kernel's 32-bit offsets");
        try
        {
            _stages = gpu.Upload(stages);
            _weights = gpu.Upload(weights.ToArray());
            _meta = gpu.Upload(meta.ToArray());
            _poolAnd = gpu.Upload(pool.ToArray());
            _act = gpu.Allocate<ulong>(act);
            _barrier = gpu.Upload(new int[2]);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Largest warp-per-output work (threads of a launch at the largest batch): about one turn of the grid-stride
    /// loop on the H200 (132 SMs × 2 groups × 256 threads = 67,584). Measured there (docs/results/h200-fused/run3): with
    /// 2^20 allowed, VGG7's b1 convs went warp-per-output (up to 16 turns) and the whole-network range took 282.7 µs
    /// instead of 133.0 µs with threads per output (run1); VGG3's conv2 at b1 (100k threads) was neutral (34.8 vs 34.7 µs).</summary>
    public const long MaxWarpPerOutputThreads = 1 << 16;

    /// <summary>How stage <paramref name="stage"/> maps threads: warp modes OR bits atomically into zeroed words, which the
    /// kernel zeroes before its first barrier, so the first stage never uses them for bits.</summary>
    public static GpuFusedMode ModeOf(Block b, int stage, int maxBatch, bool tensorCores)
    {
        if (tensorCores && GpuFusedMma.Refusal(b) is null)
            return b.Input == BlockInput.Image ? GpuFusedMode.TensorCoreImage : GpuFusedMode.TensorCore;
        if (b.Input != BlockInput.Bits) return GpuFusedMode.ThreadPerOutput;
        if (b.IsDense && !b.HasPool && (stage > 0 || b.Output == BlockOutput.Scores)) return GpuFusedMode.WarpPerChannel;
        int window = b.HasPool ? b.PoolSize * b.PoolSize : 1;
        long items = (long)b.KernelH * b.KernelW * b.InputWords * window;
        if (stage > 0 && b.Output == BlockOutput.Bits && 32 % window == 0 && items >= 16
            && (long)maxBatch * b.OutputShape.Pixels * b.OutChannels * GpuDevice.WarpSize <= MaxWarpPerOutputThreads)
            return GpuFusedMode.WarpPerOutput;
        return GpuFusedMode.ThreadPerOutput;
    }

    /// <summary>Multiprocessors × groups of this kernel one multiprocessor holds at once (the driver's occupancy estimate),
    /// capped at <see cref="MaxGroupsPerMultiprocessor"/>; at least 1.</summary>
    static int ResidentGroups(GpuDevice gpu, GpuFusedLauncher kernel, int groupSize)
    {
        int perSm = gpu.Accelerator.EstimateMaxActiveGroupsPerMultiprocessor(kernel.GetKernel(), groupSize, 0);
        return Math.Max(1, gpu.Accelerator.NumMultiprocessors * Math.Clamp(perSm, 1, MaxGroupsPerMultiprocessor));
    }

    /// <summary>The grid for <paramref name="batch"/>: enough groups for the largest stage, never more than can be resident.</summary>
    public KernelConfig LaunchFor(int batch)
    {
        long most = _workPerSample.Max() * batch, groupsNeeded = (most + GroupSize - 1) / GroupSize;
        int warps = GroupSize / GpuDevice.WarpSize;
        foreach (var st in _stageTable)
            if (st.Mode >= (int)GpuFusedMode.TensorCore)
            {
                long perGroup = Math.Max(1, warps / st.Split);
                groupsNeeded = Math.Max(groupsNeeded, (GpuFusedMma.Items(st.P, st.Window, batch) + perGroup - 1) / perGroup);
            }
        int groups = (int)Math.Clamp(groupsNeeded, 1, MaxGroups);
        return new KernelConfig(new Index3D(groups, 1, 1), new Index3D(GroupSize, 1, 1));
    }

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not GpuBuffer gin || output is not GpuBuffer gout || gin.Gpu != _gpu || gout.Gpu != _gpu)
            throw new HepBnnException($"{Configuration.Name} runs on buffers of its GPU; the plan must copy data to the GPU before block {Blocks[0].Name}");
        if (batch < 1 || batch > MaxBatch || gin.Words < Blocks[0].InputBufferWords(batch) || gout.Words < Block.OutputBufferWords(batch))
            throw new HepBnnException($"{Configuration.Name}: batch {batch} or buffers too small for blocks {Blocks[0].Name}..{Block.Name}");
        var o = gout.View;
        ArrayView<ulong> a = _act.View;
        try
        {
            _kernel(_gpu.Stream, LaunchFor(batch), _stages.View, Blocks.Count, batch, gin.View, a, a.Cast<uint>(), o, o.Cast<uint>(), o.Cast<int>(),
                _weights.View, _meta.View, _poolAnd.View, _barrier.View);
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e))
        {
            throw GpuFaults.Wrap(e, $"launching {Configuration.Name} for blocks {Blocks[0].Name}..{Block.Name} (batch {batch})", _gpu);
        }
    }

    public void Dispose()
    {
        _stages?.Dispose();
        _weights?.Dispose();
        _meta?.Dispose();
        _poolAnd?.Dispose();
        _act?.Dispose();
        _barrier?.Dispose();
    }
}
