using HepBnn.Devices;
namespace HepBnn.Ops.Cpu;

/// <summary>How a CPU configuration splits a block into independent work items (each writes whole output words).
/// Pixels: one item per (sample, pooled output pixel): the finest split that keeps whole words, so that a small
/// block at batch 1 still has enough items for many threads (VGG3's conv2 has 7 pooled rows but 49 pixels).
/// Tiles: one item per (sample, 64-channel output word, output row), word-major: a thread's contiguous slice keeps one
/// word's weights (1/words of the block's) hot in L1 over several rows, and a row's pixels still go in pairs, where a
/// pixel item reloads all the weights for one pixel (VGG7's 512-channel convs: 147–295 KB of weights per pixel).
/// PixelWords: one item per (sample, 64-channel output word, pooled output pixel), word-major: the finest split that keeps
/// whole words — 2–8x the items of Pixels on blocks of several channel words (VGG7's conv6 at batch 1: 128 items, not
/// 16), so that participants that finish early can take a slow one's last items, and a thread's slice keeps one word's
/// weights (≤ 36 KB on VGG7) in L1 across its pixels.
/// PixelsSplit: one item per (sample, cell, 64-channel output word), cell-major, where a cell is a pooled output pixel
/// (pooled blocks) or a run of up to 8 neighbouring output pixels in a row (others): a participant's static slice runs whole
/// cells as Pixels does (the AVX-512 pair path gathers a cell's patches once and keeps them for its next word), yet a
/// participant that finishes early takes a slow one's remaining words one by one (VGG7's conv6 at batch 1: 16 cells of
/// ~15 µs on 16 threads, which Pixels cannot rebalance when a vCPU runs at half speed, split into 128 items).</summary>
public enum CpuPartition { Sequential, Batch, Rows, Channels, Pixels, Tiles, PixelWords, PixelsSplit }

/// <summary>The work items of each partition, shared by the CPU runners: items per sample, and the region of one item
/// (sample, pooled output rows [R0, R1) × columns [X0, X1), channel words [C0, C1)).</summary>
public static class CpuPartitions
{
    /// <summary>Work items per sample: output rows (pooled rows for bits, pixels for scores), 64-channel words, or pixels.</summary>
    public static int UnitsPerSample(CpuPartition partition, Block b) => partition switch
    {
        CpuPartition.Rows => b.Output == BlockOutput.Bits ? b.OutputShape.H : b.OutputShape.Pixels,
        CpuPartition.Channels => b.OutputShape.ChannelWords,
        CpuPartition.Pixels => b.OutputShape.Pixels,
        CpuPartition.Tiles => (b.Output == BlockOutput.Bits ? b.OutputShape.H : b.OutputShape.Pixels) * b.OutputShape.ChannelWords,
        CpuPartition.PixelWords => b.OutputShape.Pixels * b.OutputShape.ChannelWords,
        CpuPartition.PixelsSplit => Cells(b) * b.OutputShape.ChannelWords,
        _ => 1,
    };

    /// <summary>Cells of one sample for <see cref="CpuPartition.PixelsSplit"/>: pooled output pixels, or for blocks without
    /// pooling runs of up to <see cref="CellPixels"/> output pixels of a row (pairs of neighbours share every weight load:
    /// one pair per cell cost 7–12 % over whole rows on one EPYC core, VGG7 conv3/conv5; four pairs come within a few %).</summary>
    public static int Cells(Block b) => b.OutputShape.H * CellsPerRow(b);

    /// <summary>Output pixels of one cell of a block without pooling (the last cell of a row may have fewer, or an odd count).</summary>
    public const int CellPixels = 8;

    static int CellsPerRow(Block b) => b.HasPool ? b.OutputShape.W : (b.OutputShape.W + CellPixels - 1) / CellPixels;

    public static (int N, int R0, int R1, int X0, int X1, int C0, int C1) Item(CpuPartition partition, Block b, int unit)
    {
        bool bits = b.Output == BlockOutput.Bits;
        int rows = bits ? b.OutputShape.H : b.OutputShape.Pixels, words = b.OutputShape.ChannelWords;
        int n = unit, r0 = 0, r1 = rows, c0 = 0, c1 = words, x0 = 0, x1 = b.OutputShape.W;
        switch (partition)
        {
            case CpuPartition.Rows: n = unit / rows; r0 = unit % rows; r1 = r0 + 1; break;
            case CpuPartition.Channels: n = unit / words; c0 = unit % words; c1 = c0 + 1; break;
            case CpuPartition.Pixels:
                int pixels = b.OutputShape.Pixels, p = unit % pixels;
                n = unit / pixels;
                if (bits) { r0 = p / b.OutputShape.W; r1 = r0 + 1; x0 = p % b.OutputShape.W; x1 = x0 + 1; }
                else { r0 = p; r1 = p + 1; }
                break;
            case CpuPartition.Tiles:
                int tiles = rows * words, t = unit % tiles;
                n = unit / tiles; c0 = t / rows; c1 = c0 + 1; r0 = t % rows; r1 = r0 + 1;
                break;
            case CpuPartition.PixelWords:
                int px = b.OutputShape.Pixels, cells = px * words, k = unit % cells, q = k % px;
                n = unit / cells; c0 = k / px; c1 = c0 + 1;
                if (bits) { r0 = q / b.OutputShape.W; r1 = r0 + 1; x0 = q % b.OutputShape.W; x1 = x0 + 1; }
                else { r0 = q; r1 = q + 1; }
                break;
            case CpuPartition.PixelsSplit:
                int cellCount = Cells(b), perRow = CellsPerRow(b), items = cellCount * words, j = unit % items, cell = j / words;
                n = unit / items; c0 = j % words; c1 = c0 + 1;
                r0 = cell / perRow; r1 = r0 + 1;
                x0 = b.HasPool ? cell % perRow : CellPixels * (cell % perRow);
                x1 = Math.Min(x0 + (b.HasPool ? 1 : CellPixels), b.OutputShape.W);
                break;
        }
        return (n, r0, r1, x0, x1, c0, c1);
    }
}

/// <summary>Runs one block on the CPU with a kernel flavour and a partition. Holds its work-item state and one scratch
/// per worker thread (indexed by the pool's worker id), so that running allocates nothing. Not for concurrent use
/// (like the session that owns it).</summary>
public sealed class CpuBlockRunner<TK> : ICpuRegionWork where TK : struct, ICpuKernel
{
    readonly CpuBlockData _data;
    readonly CpuPartition _partition;
    readonly CpuWorkerPool _pool;
    readonly CpuScratch[] _scratch;
    readonly int _threads;
    readonly ImageRows512? _imageRows;
    /// <summary><see cref="CpuPartition.PixelsSplit"/> on the AVX-512 pair path: items reuse the cell their worker gathered last.</summary>
    readonly bool _cellWords;
    /// <summary>The run token of <see cref="Run"/>'s fork-join (a CPU segment passes its own to <see cref="ExecuteInRun"/>).</summary>
    long _token;
    TensorBuffer? _in, _out;

    public Block Block => _data.Block;
    public IKernelConfiguration Configuration { get; }

    /// <param name="threads">Most threads a parallel partition uses (the pool's count at most).</param>
    public CpuBlockRunner(IKernelConfiguration config, Block block, CpuPartition partition, CpuWorkerPool pool, int threads = int.MaxValue)
    {
        _threads = threads;
        Configuration = config;
        _data = new CpuBlockData(block, TK.BinaryLanes, TK.ImageLanes);
        _partition = partition;
        _pool = pool;
        if (typeof(TK) == typeof(Simd512Kernel) && ImageRows512.Applies(_data)) _imageRows = new ImageRows512(_data);
        _cellWords = partition == CpuPartition.PixelsSplit && typeof(TK) == typeof(Simd512Kernel) && _imageRows is null
                     && block.Output == BlockOutput.Bits && CpuPairRows.Applies(_data);
        _scratch = new CpuScratch[partition == CpuPartition.Sequential ? 1 : pool.Threads];
        for (int i = 0; i < _scratch.Length; i++) _scratch[i] = new CpuScratch(_data);
    }

    int UnitsPerSample => CpuPartitions.UnitsPerSample(_partition, Block);

    public int Units(int batch) => batch * UnitsPerSample;
    public int MaxThreads => _partition == CpuPartition.Sequential ? 1 : Math.Min(_threads, _scratch.Length);
    public void Bind(TensorBuffer? input, TensorBuffer? output) { _in = input; _out = output; }

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not HostBuffer || output is not HostBuffer)
            throw new HepBnnException($"{Configuration.Name} runs on host buffers; the plan must copy data to the host before block {Block.Name}");
        _in = input; _out = output;
        try
        {
            _token = CpuRunTokens.Next();
            if (_partition == CpuPartition.Sequential) for (int n = 0; n < batch; n++) Execute(n, 0);
            else _pool.For(batch * UnitsPerSample, this, _threads);
        }
        finally { _in = _out = null; }
    }

    public void Execute(int unit) => Execute(unit, 0);

    public void Execute(int unit, int worker) => ExecuteInRun(unit, worker, _token);

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void ExecuteInRun(int unit, int worker, long token)
    {
        var b = Block;
        bool bits = b.Output == BlockOutput.Bits;
        var (n, r0, r1, x0, x1, c0, c1) = CpuPartitions.Item(_partition, b, unit);
        var scratch = _scratch[worker];
        if (_cellWords)
            CpuPairRows.CellWord(_data, _in!, _out!, n, r0, x0, x1, c0, scratch, token, unit / b.OutputShape.ChannelWords);
        else if (_imageRows is not null)
        {
            var os = b.OutputShape;
            _imageRows.Region(ref CpuBlockKernels.SampleStart(_data, (HostBuffer)_in!, n),
                              ((HostBuffer)_out!).Span.Slice((int)(n * os.PackedWords), (int)os.PackedWords), r0, r1, x0, x1, scratch.ImageRows);
        }
        else if (bits) CpuBlockKernels.BitsRegion<TK>(_data, _in!, _out!, n, r0, r1, x0, x1, c0, c1, scratch);
        else CpuBlockKernels.ScoresRegion<TK>(_data, _in!, _out!, n, r0, r1, c0, c1, scratch);
    }

    public void Dispose() { }
}
