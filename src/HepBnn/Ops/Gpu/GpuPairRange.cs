using HepBnn.Devices;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Two consecutive blocks run by ONE kernel: a dense bits block into a buffer of the pair's own, then a dense scores block
/// computed by the last group of each unit (a row tile, a sample) to finish, which counts itself done on a counter of
/// that unit and resets it (zero between runs). What <see cref="GpuDensePairRange"/> (tensor cores) and
/// <see cref="GpuGemvPairRange"/> (GEMV, small batch) share: that buffer and the counters, allocated in the constructor
/// (Run only launches), the buffer checks, the device-fault message and disposal. Like <see cref="GpuFusedRange"/> it
/// stands for both blocks (its <see cref="Block"/> is the second).
/// </summary>
public abstract class GpuPairRange : IBlockRunner
{
    private protected GpuDevice Gpu { get; }
    private protected GpuBlockData First { get; }
    private protected GpuBlockData Second { get; }
    /// <summary>The first block's bits, which the second reads.</summary>
    private protected GpuMemory<ulong> Mid { get; }
    /// <summary>One counter per unit whose last group computes the scores.</summary>
    private protected GpuMemory<int> Counters { get; }

    public IReadOnlyList<Block> Blocks { get; }
    public Block Block => Blocks[^1];
    public IKernelConfiguration Configuration { get; }
    public int MaxBatch { get; }

    /// <summary>What a device fault's message calls this runner ("dense pair", "GEMV pair").</summary>
    private protected abstract string Kind { get; }

    /// <param name="midWords">64-bit words of the buffer between the blocks at <paramref name="maxBatch"/>.</param>
    /// <param name="counters">Units with a counter at <paramref name="maxBatch"/>.</param>
    private protected GpuPairRange(IKernelConfiguration configuration, GpuDevice gpu, IReadOnlyList<Block> blocks, int maxBatch,
        GpuBlockData first, GpuBlockData second, long midWords, int counters)
    {
        Configuration = configuration; Gpu = gpu; Blocks = blocks; MaxBatch = maxBatch; First = first; Second = second;
        if (maxBatch < 1 || maxBatch > GpuConfiguration.MaxBatch) throw new HepBnnException($"{configuration.Name}: batch {maxBatch} out of range 1..{GpuConfiguration.MaxBatch}");
        try
        {
            Mid = gpu.Allocate<ulong>(midWords);
            Counters = gpu.Upload(new int[counters]);
        }
        catch
        {
            Mid?.Dispose(); // the block data are the caller's to dispose until this constructor returns
            throw;
        }
    }

    /// <summary>Launches the pair's kernel for <paramref name="batch"/> samples (buffers checked).</summary>
    private protected abstract void Launch(GpuBuffer input, GpuBuffer output, int batch);

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not GpuBuffer gin || output is not GpuBuffer gout || gin.Gpu != Gpu || gout.Gpu != Gpu)
            throw new HepBnnException($"{Configuration.Name} runs on buffers of its GPU; the plan must copy data to the GPU before block {Blocks[0].Name}");
        if (batch < 1 || batch > MaxBatch || gin.Words < Blocks[0].InputBufferWords(batch) || gout.Words < Block.OutputBufferWords(batch))
            throw new HepBnnException($"{Configuration.Name}: batch {batch} or buffers too small for blocks {Blocks[0].Name}..{Block.Name}");
        try { Launch(gin, gout, batch); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e))
        {
            throw GpuFaults.Wrap(e, $"launching {Configuration.Name} ({Kind}) for blocks {Blocks[0].Name}..{Block.Name} (batch {batch})", Gpu);
        }
    }

    public void Dispose()
    {
        First.Dispose();
        Second.Dispose();
        Mid?.Dispose();
        Counters?.Dispose();
    }
}
