using HepBnn.Devices;
namespace HepBnn.Ops.Cpu;

/// <summary>Runs one block with a register-blocked binary kernel <typeparamref name="TB"/>; an 8-bit image block runs
/// the per-pixel multiply-add kernel <typeparamref name="TI"/> (VPMADDUBSW) instead. Partitions as
/// <see cref="CpuBlockRunner{TK}"/>, on at most <c>threads</c> threads of the pool. Scratch per worker, allocated here.</summary>
public sealed class BlockedRunner<TB, TI> : ICpuRegionWork
    where TB : struct, IBlockedPopCount where TI : struct, ICpuKernel
{
    readonly CpuBlockData _data;
    readonly CpuPartition _partition;
    readonly CpuWorkerPool _pool;
    readonly int _threads;
    readonly BlockedScratch[] _scratch;
    readonly CpuScratch[] _imageScratch;
    TensorBuffer? _in, _out;

    public Block Block => _data.Block;
    public IKernelConfiguration Configuration { get; }

    public BlockedRunner(IKernelConfiguration config, Block block, CpuPartition partition, int threads, CpuWorkerPool pool)
    {
        Configuration = config;
        _data = new CpuBlockData(block, binaryLanes: 4, imageLanes: TI.ImageLanes);
        if (partition == CpuPartition.Pixels) throw new HepBnnException("the register-blocked runner pairs pixels within rows; use Rows");
        _partition = partition;
        _pool = pool;
        _threads = partition == CpuPartition.Sequential ? 1 : Math.Min(threads, pool.Threads);
        int n = partition == CpuPartition.Sequential ? 1 : pool.Threads;
        _scratch = _data.IsImage ? [] : Enumerable.Range(0, n).Select(_ => new BlockedScratch(_data)).ToArray();
        _imageScratch = _data.IsImage ? Enumerable.Range(0, n).Select(_ => new CpuScratch(_data)).ToArray() : [];
    }

    int UnitsPerSample => CpuPartitions.UnitsPerSample(_partition, Block);

    public int Units(int batch) => batch * UnitsPerSample;
    public int MaxThreads => _threads;
    public void Bind(TensorBuffer? input, TensorBuffer? output) { _in = input; _out = output; }

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not HostBuffer || output is not HostBuffer)
            throw new HepBnnException($"{Configuration.Name} runs on host buffers; the plan must copy data to the host before block {Block.Name}");
        _in = input; _out = output;
        try
        {
            if (_threads <= 1) for (int u = 0, units = batch * UnitsPerSample; u < units; u++) Execute(u, 0);
            else _pool.For(batch * UnitsPerSample, this, _threads);
        }
        finally { _in = _out = null; }
    }

    public void Execute(int unit) => Execute(unit, 0);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Execute(int unit, int worker)
    {
        var b = Block;
        bool bits = b.Output == BlockOutput.Bits;
        var (n, r0, r1, _, _, c0, c1) = CpuPartitions.Item(_partition, b, unit);
        if (_data.IsImage)
        {
            if (bits) CpuBlockKernels.BitsRegion<TI>(_data, _in!, _out!, n, r0, r1, c0, c1, _imageScratch[worker]);
            else CpuBlockKernels.ScoresRegion<TI>(_data, _in!, _out!, n, r0, r1, c0, c1, _imageScratch[worker]);
        }
        else if (bits) BlockedRegions.Bits<TB>(_data, _in!, _out!, n, r0, r1, c0, c1, _scratch[worker]);
        else BlockedRegions.Scores<TB>(_data, _in!, _out!, n, r0, r1, c0, c1, _scratch[worker]);
    }

    public void Dispose() { }
}
