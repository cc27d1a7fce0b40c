using HepBnn.Devices;

namespace HepBnn.Ops.Cpu;

/// <summary>Popcount route of a register-blocked kernel; which one is fastest differs by core (POPCNT ports vs
/// VPSHUFB throughput), so each is its own configuration and the profiler picks per machine and block.</summary>
public enum BlockedIsa { Popcnt, Avx2, Avx512 }

/// <summary>A register-blocked binary kernel (4 channels × 2 pixels per inner loop) with a partition over at most a
/// given number of threads. One class serves the family (route × partition × thread count) because the members differ
/// only in these three parameters; the thread count lets a small block use fewer cores than the machine has.</summary>
public sealed class CpuBlocked : CpuConfiguration
{
    public override string? KernelName => null; // register-blocked: rated against its own route's peak
    readonly BlockedIsa _isa;
    readonly CpuPartition _partition;
    readonly int _threads;

    /// <param name="threads">Most threads used (int.MaxValue = all the pool has); ignored for Sequential.</param>
    public CpuBlocked(BlockedIsa isa, CpuPartition partition, int threads = int.MaxValue)
    {
        _isa = isa; _partition = partition; _threads = partition == CpuPartition.Sequential ? 1 : threads;
        string route = isa.ToString().ToLowerInvariant();
        Name = partition == CpuPartition.Sequential ? $"cpu.rb-{route}"
            : $"cpu.rb-{route}-{partition.ToString().ToLowerInvariant()}" + (threads == int.MaxValue ? "" : $"-t{threads}");
        Description = $"register-blocked 4ch×2px {route}, " + (partition == CpuPartition.Sequential ? "1 thread"
            : $"{(threads == int.MaxValue ? "all cores" : $"≤{threads} threads")}, split over {partition.ToString().ToLowerInvariant()}");
    }

    public override string Name { get; }
    public override string Description { get; }
    protected override CpuPartition Partition => _partition;

    public override bool IsaSupported => _isa switch
    {
        BlockedIsa.Popcnt => PopcntBlocked.IsSupported,
        BlockedIsa.Avx2 => Avx2Blocked.IsSupported,
        _ => Avx512Blocked.IsSupported,
    };

    public override string RequiredIsa => _isa switch { BlockedIsa.Popcnt => "POPCNT", BlockedIsa.Avx2 => "AVX2", _ => "AVX-512BW" };

    public override bool Supports(Block block) => IsaSupported && CpuBlockData.Fits(block);

    protected override IBlockRunner? CreateRunner(Block block, ExecutionResources r) => !Supports(block) ? null : _isa switch
    {
        BlockedIsa.Popcnt => Make<PopcntBlocked>(block, r),
        BlockedIsa.Avx2 => Make<Avx2Blocked>(block, r),
        _ => Make<Avx512Blocked>(block, r),
    };

    /// <summary>The image layer (8-bit input) runs the widest multiply-add kernel present.</summary>
    IBlockRunner Make<TB>(Block block, ExecutionResources r) where TB : struct, IBlockedPopCount =>
        Simd512Kernel.IsSupported ? new BlockedRunner<TB, Simd512Kernel>(this, block, _partition, _threads, r.CpuWorkers)
        : Simd256Kernel.IsSupported ? new BlockedRunner<TB, Simd256Kernel>(this, block, _partition, _threads, r.CpuWorkers)
        : new BlockedRunner<TB, ScalarKernel>(this, block, _partition, _threads, r.CpuWorkers);

    /// <summary>The family registered for profiling: every route on one thread, and each route split over rows on all
    /// threads. (Channel, batch and thread-capped splits of these kernels were measured on the 16-core Xeon and the
    /// 2-core EPYC and never won a block: the carry-save SIMD kernel of <see cref="CpuConfiguration"/> out-runs them, see
    /// docs/benchmarks/cpu-fast.md; they stay constructible for experiments.)</summary>
    public static IEnumerable<CpuBlocked> Family()
    {
        foreach (var isa in new[] { BlockedIsa.Popcnt, BlockedIsa.Avx2, BlockedIsa.Avx512 })
            yield return new CpuBlocked(isa, CpuPartition.Sequential);
        foreach (var isa in new[] { BlockedIsa.Popcnt, BlockedIsa.Avx2, BlockedIsa.Avx512 })
            yield return new CpuBlocked(isa, CpuPartition.Rows);
    }
}
