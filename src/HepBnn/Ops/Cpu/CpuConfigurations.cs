using HepBnn.Devices;
namespace HepBnn.Ops.Cpu;

/// <summary>Common shape of the CPU configurations: a popcount flavour and a partition over the worker pool.</summary>
public abstract class CpuConfiguration : IKernelConfiguration
{
    public abstract string Name { get; }
    public abstract string Description { get; }
    public DeviceKind Device => DeviceKind.Cpu;
    protected abstract CpuPartition Partition { get; }
    /// <summary>Every block whose precomputed tables stay within bounds (see <see cref="CpuBlockData.Fits"/>).</summary>
    public virtual bool Supports(Block block) => CpuBlockData.Fits(block);
    /// <summary>Whether this CPU has the instructions the configuration needs (tests skip, with this reason, where not).</summary>
    public virtual bool IsaSupported => true;
    /// <summary>The instruction set the configuration needs ("" = none beyond x64): "POPCNT", "AVX2" or "AVX-512BW".</summary>
    public virtual string RequiredIsa => "";

    public IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources) =>
        CreateRunner(block, resources) ?? throw new HepBnnException($"{Name} is not supported on this CPU");

    protected virtual IBlockRunner? CreateRunner(Block block, ExecutionResources r) => BestSimd(block, r);
    /// <summary>Most threads a parallel partition uses.</summary>
    protected virtual int MaxThreads => int.MaxValue;

    /// <summary>Threads a block runs on at most, on a pool of <paramref name="poolThreads"/> (1 = sequential).</summary>
    public int ThreadsOn(int poolThreads) => Partition == CpuPartition.Sequential ? 1 : Math.Min(MaxThreads, poolThreads);

    /// <summary>The carry-save kernel this configuration runs ("simd512", "simd256", "scalar"), or null for another
    /// kind of inner loop: what the roofline rates its blocks against.</summary>
    public virtual string? KernelName => Simd512Kernel.IsSupported ? "simd512" : Simd256Kernel.IsSupported ? "simd256" : "scalar";

    /// <summary>The widest SIMD kernel this CPU has.</summary>
    protected IBlockRunner BestSimd(Block block, ExecutionResources r) =>
        Simd512Kernel.IsSupported ? new CpuBlockRunner<Simd512Kernel>(this, block, Partition, r.CpuWorkers, MaxThreads)
        : Simd256Kernel.IsSupported ? new CpuBlockRunner<Simd256Kernel>(this, block, Partition, r.CpuWorkers, MaxThreads)
        : new CpuBlockRunner<ScalarKernel>(this, block, Partition, r.CpuWorkers, MaxThreads);

    public override string ToString() => Name;
}

/// <summary>One thread, one 64-bit POPCNT at a time, image layer as integer loops: the sequential baseline.</summary>
public sealed class CpuScalar : CpuConfiguration
{
    public override string? KernelName => "scalar";
    public override string Name => "cpu.scalar";
    public override string Description => "1 thread, scalar 64-bit popcount";
    protected override CpuPartition Partition => CpuPartition.Sequential;
    protected override IBlockRunner? CreateRunner(Block block, ExecutionResources r) =>
        new CpuBlockRunner<ScalarKernel>(this, block, Partition, r.CpuWorkers);
}

/// <summary>One thread, 256-bit vectors (AVX2 nibble-LUT popcount), vectorised over output channels.</summary>
public sealed class CpuSimd256 : CpuConfiguration, IMachineRequirement
{
    public override string? KernelName => "simd256";
    public string? UnavailableReason => Simd256Kernel.IsSupported ? null : "this CPU lacks AVX2";
    public override string Name => "cpu.simd256";
    public override string Description => "1 thread, AVX2 Vector256 popcount";
    protected override CpuPartition Partition => CpuPartition.Sequential;
    public override bool IsaSupported => Simd256Kernel.IsSupported;
    public override string RequiredIsa => "AVX2";
    public override bool Supports(Block block) => Simd256Kernel.IsSupported && CpuBlockData.Fits(block);
    protected override IBlockRunner? CreateRunner(Block block, ExecutionResources r) =>
        Supports(block) ? new CpuBlockRunner<Simd256Kernel>(this, block, Partition, r.CpuWorkers) : null;
}

/// <summary>One thread, 512-bit vectors (AVX-512BW nibble-LUT popcount).</summary>
public sealed class CpuSimd512 : CpuConfiguration, IMachineRequirement
{
    public override string? KernelName => "simd512";
    public string? UnavailableReason => Simd512Kernel.IsSupported ? null : "this CPU lacks AVX-512BW";
    public override string Name => "cpu.simd512";
    public override string Description => "1 thread, AVX-512BW Vector512 popcount";
    protected override CpuPartition Partition => CpuPartition.Sequential;
    public override bool IsaSupported => Simd512Kernel.IsSupported;
    public override string RequiredIsa => "AVX-512BW";
    public override bool Supports(Block block) => Simd512Kernel.IsSupported && CpuBlockData.Fits(block);
    protected override IBlockRunner? CreateRunner(Block block, ExecutionResources r) =>
        Supports(block) ? new CpuBlockRunner<Simd512Kernel>(this, block, Partition, r.CpuWorkers) : null;
}

/// <summary>Best SIMD, one work item per (sample, 64 output channels), on all worker threads or at most a given number:
/// a dense block at batch 1 (VGG3's fc1: 32 items) needs no more than a few cores, and on the 16-core Xeon host a
/// hand-off to 8 threads costs about half of one to 16.</summary>
public sealed class CpuThreadsChannels(int threads = int.MaxValue) : CpuConfiguration
{
    public override string Name => threads == int.MaxValue ? "cpu.mt-channels" : $"cpu.mt-channels-t{threads}";
    public override string Description => (threads == int.MaxValue ? "all cores" : $"≤{threads} threads") + ", split over output channels";
    protected override CpuPartition Partition => CpuPartition.Channels;
    protected override int MaxThreads => threads;
}

/// <summary>All worker threads, best SIMD, one work item per (sample, output row) — per output pixel for scores.</summary>
public sealed class CpuThreadsRows : CpuConfiguration
{
    public override string Name => "cpu.mt-rows";
    public override string Description => "all cores, split over output rows";
    protected override CpuPartition Partition => CpuPartition.Rows;
}

/// <summary>All worker threads, best SIMD, one work item per sample.</summary>
public sealed class CpuThreadsBatch : CpuConfiguration
{
    public override string Name => "cpu.mt-batch";
    public override string Description => "all cores, split over the batch";
    protected override CpuPartition Partition => CpuPartition.Batch;
}

/// <summary>Best SIMD, one work item per (sample, pooled output pixel), on at most a given number of threads: enough
/// items for many cores even at batch 1, and a thread cap so that a small block need not wake every core.</summary>
public sealed class CpuThreadsPixels(int threads = int.MaxValue) : CpuConfiguration
{
    public override string Name => threads == int.MaxValue ? "cpu.mt-pixels" : $"cpu.mt-pixels-t{threads}";
    public override string Description => (threads == int.MaxValue ? "all cores" : $"≤{threads} threads") + ", split over output pixels";
    protected override CpuPartition Partition => CpuPartition.Pixels;
    protected override int MaxThreads => threads;
}

/// <summary>All worker threads, best SIMD, one work item per (sample, 64-channel output word, pooled output pixel),
/// word-major (<see cref="CpuPartition.PixelWords"/>): enough items at batch 1 that participants on fast cores take a
/// slow core's last ones. Only blocks of several channel words (with one word it is <c>cpu.mt-pixels</c>), and not
/// image layers (their rows kernel computes every channel of a pixel at once).</summary>
public sealed class CpuThreadsPixelWords : CpuConfiguration
{
    public override string Name => "cpu.mt-pixel-words";
    public override string Description => "all cores, split over (output channel word, output pixel) items";
    protected override CpuPartition Partition => CpuPartition.PixelWords;
    public override bool Supports(Block block) =>
        block.Input != BlockInput.Image && block.OutputShape.ChannelWords > 1 && base.Supports(block);
}

/// <summary>All worker threads, best SIMD, one work item per (sample, cell, 64-channel output word), cell-major
/// (<see cref="CpuPartition.PixelsSplit"/>; a cell is a pooled pixel, or a pixel pair without pooling): a participant's
/// own slice runs as <c>cpu.mt-pixels</c> does (one gather per cell on the AVX-512 pair path), while one that finishes
/// early takes a slow participant's remaining words one at a time. Binary blocks of several output words with bits out.</summary>
public sealed class CpuThreadsPixelsSplit : CpuConfiguration
{
    public override string Name => "cpu.mt-pixels-split";
    public override string Description => "all cores, output pixels split into (pixel, channel word) items";
    protected override CpuPartition Partition => CpuPartition.PixelsSplit;
    public override bool Supports(Block block) =>
        block.Input != BlockInput.Image && block.Output == BlockOutput.Bits && block.OutputShape.ChannelWords > 1 && base.Supports(block);
}

/// <summary>All worker threads, best SIMD, one work item per (sample, 64-channel output word, output row), word-major:
/// deep layers with many channel words and few rows (VGG7's conv4–conv6 at batch 1) get enough items for every core,
/// each thread keeps one word's weights, and a row's pixels still share weight loads in pairs.</summary>
public sealed class CpuThreadsTiles : CpuConfiguration
{
    public override string Name => "cpu.mt-tiles";
    public override string Description => "all cores, split over (output channel word, output row) tiles";
    protected override CpuPartition Partition => CpuPartition.Tiles;
}
