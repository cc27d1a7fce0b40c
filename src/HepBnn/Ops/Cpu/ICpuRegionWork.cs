using HepBnn.Devices;
namespace HepBnn.Ops.Cpu;

/// <summary>A CPU block's work as independent items that a <c>CpuSegment</c> runs inside one parallel region shared
/// with the neighbouring CPU blocks (instead of one fork-join per block).</summary>
public interface ICpuRegionWork : IBlockRunner, IParallelWork
{
    /// <summary>Work items for <paramref name="batch"/> samples (the same items <see cref="IBlockRunner.Run"/> runs).</summary>
    int Units(int batch);

    /// <summary>Most threads this block's partition uses (1 = a sequential configuration).</summary>
    int MaxThreads { get; }

    /// <summary>Sets the buffers the items read and write (null, null after the region).</summary>
    void Bind(TensorBuffer? input, TensorBuffer? output);

    /// <summary>As Execute(unit, worker), inside the run identified by <paramref name="token"/> (<see cref="CpuRunTokens"/>:
    /// unique per block per run of the process), so that a worker may keep what it derived from the block's input (a
    /// gathered patch) for its next item of the same run, and never use it in another.</summary>
    void ExecuteInRun(int unit, int worker, long token) => Execute(unit, worker);
}

/// <summary>Run tokens for <see cref="ICpuRegionWork.ExecuteInRun"/>: one process-wide counter, so that a token names one
/// run of one block whatever segment, fork-join or runner it came from.</summary>
public static class CpuRunTokens
{
    static long s_last;

    /// <summary>A fresh run number (never 0); tokens are run × 2¹⁶ + block (a CPU segment) or run × 2¹⁶ (a fork-join).</summary>
    public static long Next() => Interlocked.Increment(ref s_last) << 16;
}
