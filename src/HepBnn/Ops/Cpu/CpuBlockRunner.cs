using HepBnn.Devices;
using HepBnn.Runtime;

namespace HepBnn.Ops.Cpu;

/// <summary>How a CPU configuration splits a block into independent work items (each writes whole output words).</summary>
public enum CpuPartition { Sequential, Batch, Rows, Channels }

/// <summary>Runs one block on the CPU with a popcount flavour and a partition. Holds its work-item state so that
/// dispatching to the worker pool allocates nothing.</summary>
public sealed class CpuBlockRunner<TDot> : IBlockRunner, IParallelWork where TDot : struct, IXorPopCount
{
    readonly CpuBlockData _data;
    readonly CpuPartition _partition;
    readonly bool _vectorImage;
    readonly CpuWorkerPool _pool;
    TensorBuffer? _in, _out;
    int _batch, _units, _chunkK;

    public Block Block => _data.Block;
    public IKernelConfiguration Configuration { get; }

    public CpuBlockRunner(IKernelConfiguration config, Block block, CpuPartition partition, bool vectorImage, CpuWorkerPool pool)
    {
        Configuration = config;
        _data = new CpuBlockData(block);
        _partition = partition;
        _vectorImage = vectorImage;
        _pool = pool;
    }

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not HostBuffer || output is not HostBuffer)
            throw new HepBnnException($"{Configuration.Name} runs on host buffers; the plan must copy data to the host before block {Block.Name}");
        _in = input; _out = output; _batch = batch;
        var b = Block;
        int perSample = _partition switch
        {
            CpuPartition.Rows => b.Output == BlockOutput.Bits ? b.OutputShape.H : b.OutputShape.Pixels,
            CpuPartition.Channels => b.Output == BlockOutput.Bits ? b.OutputShape.ChannelWords : ChannelChunks(),
            _ => 1,
        };
        _units = batch * perSample;
        if (_partition == CpuPartition.Sequential) for (int n = 0; n < batch; n++) Execute(n);
        else _pool.For(_units, this);
        _in = _out = null;
    }

    int ChannelChunks()
    {
        int k = Block.OutChannels, chunks = Math.Min(k, _pool.Threads * 2);
        _chunkK = (k + chunks - 1) / chunks;
        return (k + _chunkK - 1) / _chunkK;
    }

    public void Execute(int unit)
    {
        var b = Block;
        bool bits = b.Output == BlockOutput.Bits;
        int rows = bits ? b.OutputShape.H : b.OutputShape.Pixels;
        int words = b.OutputShape.ChannelWords, k = b.OutChannels;
        int n, r0 = 0, r1 = rows, c0 = 0, c1 = bits ? words : k;
        switch (_partition)
        {
            case CpuPartition.Sequential or CpuPartition.Batch: n = unit; break;
            case CpuPartition.Rows: n = unit / rows; r0 = unit % rows; r1 = r0 + 1; break;
            default:
                int per = bits ? words : (k + _chunkK - 1) / _chunkK;
                n = unit / per;
                int c = unit % per;
                if (bits) { c0 = c; c1 = c + 1; } else { c0 = c * _chunkK; c1 = Math.Min(k, c0 + _chunkK); }
                break;
        }
        if (bits) CpuBlockKernels.BitsRegion<TDot>(_data, _in!, _out!, n, r0, r1, c0, c1, _vectorImage);
        else CpuBlockKernels.ScoresRegion<TDot>(_data, _in!, _out!, n, r0, r1, c0, c1);
    }

    public void Dispose() { }
}
