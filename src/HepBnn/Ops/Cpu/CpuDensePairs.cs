using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HepBnn.Devices;

namespace HepBnn.Ops.Cpu;

/// <summary>
/// Dense binary blocks at batch ≥ 2 (VGG3's fc1: 2,048 channels × 49 words, 800 KB of weights): one work item per
/// (64-channel output word, pair of samples), word-major, on all threads. The two samples of a pair go through the
/// kernel's two-patch path (<see cref="ICpuKernel.BinaryWord2"/>: one weight load feeds both trees), and word-major
/// slices keep a thread on a few words' weights (one word: 25 KB for fc1, L1-resident) across every pair of the batch,
/// where a per-sample item streams all of the block's weights from L2 once per sample. Same bits as every other
/// configuration (each item writes its own output words).
/// </summary>
public sealed class CpuThreadsDensePairs : CpuConfiguration
{
    public override string Name => "cpu.mt-dense-pairs";
    public override string Description => "all cores, dense blocks: (output channel word, sample pair) items, word-major";
    protected override CpuPartition Partition => CpuPartition.Channels; // thread count as a parallel partition

    /// <summary>Dense blocks with binary input and bit outputs (the scores layer is a few µs and keeps the others).</summary>
    public override bool Supports(Block block) =>
        block.Input == BlockInput.Bits && block.IsDense && block.Output == BlockOutput.Bits && !block.HasPool && CpuBlockData.Fits(block);

    protected override IBlockRunner? CreateRunner(Block block, ExecutionResources r) => !Supports(block) ? null
        : Simd512Kernel.IsSupported ? new DensePairRunner<Simd512Kernel>(this, block, r.CpuWorkers)
        : Simd256Kernel.IsSupported ? new DensePairRunner<Simd256Kernel>(this, block, r.CpuWorkers)
        : new DensePairRunner<ScalarKernel>(this, block, r.CpuWorkers);
}

/// <summary>The runner of <see cref="CpuThreadsDensePairs"/>: item u is output word u / pairs of sample pair u % pairs
/// (the last "pair" of an odd batch is one sample).</summary>
public sealed class DensePairRunner<TK> : ICpuRegionWork where TK : struct, ICpuKernel
{
    readonly CpuBlockData _data;
    readonly CpuWorkerPool _pool;
    readonly int _cls;
    /// <summary>The batch of the current run: set by <see cref="Units"/>, which the segment (and <see cref="Run"/>) call
    /// with the run's batch before any item runs; the items need it for the odd batch's last sample.</summary>
    int _batch;
    TensorBuffer? _in, _out;

    public Block Block => _data.Block;
    public IKernelConfiguration Configuration { get; }

    public DensePairRunner(IKernelConfiguration config, Block block, CpuWorkerPool pool)
    {
        Configuration = config;
        _data = new CpuBlockData(block, TK.BinaryLanes, TK.ImageLanes);
        _pool = pool;
        _cls = _data.RowClass[0] * _data.ColClasses + _data.ColClass[0];
    }

    int Words => Block.OutputShape.ChannelWords;

    public int Units(int batch)
    {
        if (_batch != batch) _batch = batch; // participants call it too: no store when unchanged (a shared line)
        return (batch + 1) / 2 * Words;
    }

    public int MaxThreads => _pool.Threads;
    public void Bind(TensorBuffer? input, TensorBuffer? output) { _in = input; _out = output; }

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not HostBuffer || output is not HostBuffer)
            throw new HepBnnException($"{Configuration.Name} runs on host buffers; the plan must copy data to the host before block {Block.Name}");
        _in = input; _out = output;
        try { _pool.For(Units(batch), this); }
        finally { _in = _out = null; }
    }

    public void Execute(int unit) => Execute(unit, 0);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Execute(int unit, int worker)
    {
        int pairs = (_batch + 1) / 2, word = unit / pairs, n = 2 * (unit % pairs);
        long inStride = Block.InputShape.PackedWords, outStride = Block.OutputShape.PackedWords;
        ref ulong input = ref MemoryMarshal.GetArrayDataReference(((HostBuffer)_in!).Data);
        ref ulong output = ref MemoryMarshal.GetArrayDataReference(((HostBuffer)_out!).Data);
        ref ulong a = ref Unsafe.Add(ref input, (nint)(n * inStride));
        if (n + 1 < _batch)
        {
            ulong bitsA = TK.BinaryWord2(_data, ref a, ref Unsafe.Add(ref a, (nint)inStride), word, _cls, _cls, out ulong bitsB);
            Unsafe.Add(ref output, (nint)(n * outStride + word)) = bitsA;
            Unsafe.Add(ref output, (nint)((n + 1) * outStride + word)) = bitsB;
        }
        else Unsafe.Add(ref output, (nint)(n * outStride + word)) = TK.BinaryWord(_data, ref a, word, _cls);
    }

    public void Dispose() { }
}
