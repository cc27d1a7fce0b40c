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
}
