using System.Diagnostics;
using System.Runtime.Intrinsics;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Cpu;

namespace HepBnn.Planning;

/// <summary>Measured ceilings of the CPU path: the peak rate of each register-blocked inner loop on cache-resident
/// data (its own instruction mix: loads, XOR, popcount route, accumulate), and the cost of one fork-join of the worker
/// pool. A block's "fraction of peak" is its binary word-ops per second over the peak of the same route and threads.</summary>
public static class CpuRoofline
{
    /// <summary>One 64-bit XOR + popcount + accumulate is one word-op; a binary block does pixels × K × patch words.</summary>
    public static long WordOps(Block b, int batch) =>
        b.Input == BlockInput.Image ? 0 : (long)batch * b.ConvShape.Pixels * b.OutChannels * b.KernelH * b.KernelW * b.InputWords;

    /// <summary>Peak G word-ops/s of route <paramref name="isa"/> on <paramref name="threads"/> threads (each on its own
    /// L1-resident patch pair and 4 weight groups of 36 words: a 3×3 conv over 256 input channels).</summary>
    public static double PeakGops(BlockedIsa isa, int threads, CpuWorkerPool pool, double seconds = 0.2) => isa switch
    {
        BlockedIsa.Popcnt => Peak<PopcntBlocked>(threads, pool, seconds),
        BlockedIsa.Avx2 => Peak<Avx2Blocked>(threads, pool, seconds),
        _ => Peak<Avx512Blocked>(threads, pool, seconds),
    };

    public static bool Available(BlockedIsa isa) => isa switch
    {
        BlockedIsa.Popcnt => PopcntBlocked.IsSupported,
        BlockedIsa.Avx2 => Avx2Blocked.IsSupported,
        _ => Avx512Blocked.IsSupported,
    };

    const int Len = 36, Groups = 4;

    /// <summary>Each participating thread times short bursts of the loop (~20 µs, so that on a shared machine most run
    /// within one scheduler slice) for the given seconds and keeps its median burst rate; the peak is their sum.</summary>
    sealed class PeakWork<TB>(int threads, double seconds) : IParallelWork where TB : struct, IBlockedPopCount
    {
        public readonly double[] Rates = new double[threads], WordOps = new double[threads];
        public readonly long[] Starts = new long[threads], Ends = new long[threads];
        public ulong Sink;
        public void Execute(int index)
        {
            var rng = new Random(index + 1);
            var a = new ulong[Len]; var b = new ulong[Len]; var w = new ulong[Len * 4 * Groups];
            for (int i = 0; i < a.Length; i++) { a[i] = (ulong)rng.NextInt64(); b[i] = (ulong)rng.NextInt64(); }
            for (int i = 0; i < w.Length; i++) w[i] = (ulong)rng.NextInt64();
            var acc = Vector256<ulong>.Zero;
            const int reps = 16; // 16 × 4 groups × 288 word-ops ≈ 18 k word-ops: ~5–20 µs
            var samples = new List<double>();
            Starts[index] = Stopwatch.GetTimestamp();
            long end = Starts[index] + (long)(seconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end || samples.Count < 50)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int r = 0; r < reps; r++)
                    for (int g = 0; g < Groups; g++)
                    {
                        TB.Pair(ref w[g * Len * 4], ref a[0], ref b[0], Len, out var ca, out var cb);
                        acc += ca ^ cb;
                    }
                long t1 = Stopwatch.GetTimestamp();
                samples.Add(reps * Groups * 8.0 * Len / ((t1 - t0) / (double)Stopwatch.Frequency) / 1e9);
            }
            samples.Sort();
            Rates[index] = samples[samples.Count / 2];
            Interlocked.Add(ref Sink, acc.GetElement(0) + acc.GetElement(3));
        }
    }

    static double Peak<TB>(int threads, CpuWorkerPool pool, double seconds) where TB : struct, IBlockedPopCount
    {
        if (!TB.IsSupported) return double.NaN;
        threads = Math.Clamp(threads, 1, pool.Threads);
        new PeakWork<TB>(1, 0.01).Execute(0); // JIT-compiles the loop (fully optimised: AggressiveOptimization)
        var work = new PeakWork<TB>(threads, seconds);
        pool.For(threads, work, threads);
        return work.Rates.Sum();
    }

    /// <summary>A block of a CPU segment whose items do nothing: what remains of a region is its hand-off, its join and
    /// the dependency waits between blocks.</summary>
    sealed class EmptyBlock(int threads) : ICpuRegionWork
    {
        public Block Block => throw new NotSupportedException("an empty measuring block has no model block");
        public IKernelConfiguration Configuration => throw new NotSupportedException("an empty measuring block has no configuration");
        public int Units(int batch) => threads;
        public int MaxThreads => threads;
        public void Bind(TensorBuffer? input, TensorBuffer? output) { }
        public void Execute(int index) { }
        public void Run(TensorBuffer input, TensorBuffer output, int batch) { }
        public void Dispose() { }
    }

    /// <summary>Median and p90 µs of one CPU segment (<see cref="Runtime.CpuSegment"/>) of <paramref name="blocks"/>
    /// empty blocks on <paramref name="threads"/> threads: the region's hand-off and join plus blocks − 1 dependency
    /// waits. (Segment of 9 − segment of 1) / 8 is the cost of one block boundary inside a region.</summary>
    public static TimingStats Region(CpuWorkerPool pool, int threads, int blocks, int iterations = 2000)
    {
        var empty = Enumerable.Range(0, blocks).Select(_ => (ICpuRegionWork)new EmptyBlock(threads)).ToArray();
        var buffers = new TensorBuffer[blocks];
        var segment = new Runtime.CpuSegment(0, empty, buffers, buffers, pool);
        for (int i = 0; i < 200; i++) segment.Run(1);
        var us = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            segment.Run(1);
            us[i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
        }
        return TimingStats.From(us);
    }

    /// <summary>Peak G word-ops/s of the carry-save kernel <typeparamref name="TK"/> (what <c>cpu.simd512</c>,
    /// <c>cpu.simd256</c> and the <c>cpu.mt-*</c> configurations run) on its own instruction mix — two output pixels ×
    /// 64 channels per call, tree, popcounts, thresholds and packing included — for patches of
    /// <paramref name="patchWords"/> words on cache-resident data (a 1×1 convolution over 64·patchWords input
    /// channels), on <paramref name="threads"/> threads. The register-blocked routes above pay one popcount per word;
    /// this kernel one per 16 words, so its blocks are rated against this peak, not theirs.</summary>
    /// <summary><see cref="KernelPeakGops{TK}"/> of the kernel named <paramref name="kernel"/> (a
    /// <see cref="CpuConfiguration.KernelName"/>).</summary>
    public static double KernelPeakGops(string kernel, int patchWords, int threads, CpuWorkerPool pool, double seconds = 0.1) => kernel switch
    {
        "simd512" => KernelPeakGops<Simd512Kernel>(patchWords, threads, pool, seconds),
        "simd256" => KernelPeakGops<Simd256Kernel>(patchWords, threads, pool, seconds),
        "scalar" => KernelPeakGops<ScalarKernel>(patchWords, threads, pool, seconds),
        _ => throw new ArgumentException($"no carry-save kernel named {kernel}", nameof(kernel)),
    };

    /// <summary>Words of one output pixel's patch in binary block <paramref name="b"/> (kh·kw·input words).</summary>
    public static int PatchWords(Block b) => b.KernelH * b.KernelW * b.InputWords;

    /// <param name="outputWords">64-channel output words per pixel pair: 1 keeps the weights in L1; a block's own count
    /// (VGG7's conv4: 4 words of 36-word patches, 73 KB) streams them from L2 as the block does, so that the 1- vs
    /// n-thread rates show whether that traffic, not the arithmetic, limits a block on many threads.</param>
    /// <param name="aggregate">Rate as all the threads' word-ops over the wall time from the first start to the last end,
    /// instead of the sum of each thread's median burst rate: bursts (10–40 µs) are short enough to fall between a
    /// hypervisor's time slices, so only the aggregate shows vCPUs that do not really run at once.</param>
    public static double KernelPeakGops<TK>(int patchWords, int threads, CpuWorkerPool pool, double seconds = 0.1, int outputWords = 1, bool aggregate = false) where TK : struct, ICpuKernel
    {
        if (!TK.IsSupported || patchWords < 1 || outputWords < 1) return double.NaN;
        var model = new ModelBuilder(new Shape3(1, 1, 64), seed: patchWords).InputConv(64 * patchWords, kernel: 1, padding: 0).BnSign()
            .Conv(64 * outputWords, kernel: 1, padding: 0).BnSign().Build("kernel-peak");
        var data = new CpuBlockData(BlockCompiler.Compile(model)[1], TK.BinaryLanes, TK.ImageLanes);
        threads = Math.Clamp(threads, 1, pool.Threads);
        new KernelPeakWork<TK>(data, 1, 0.01).Execute(0); // JIT-compiles the kernel fully optimised first
        var work = new KernelPeakWork<TK>(data, threads, seconds);
        pool.For(threads, work, threads);
        return aggregate ? work.WordOps.Sum() / ((work.Ends.Max() - work.Starts.Min()) / (double)Stopwatch.Frequency) / 1e9 : work.Rates.Sum();
    }

    sealed class KernelPeakWork<TK>(CpuBlockData d, int threads, double seconds) : IParallelWork where TK : struct, ICpuKernel
    {
        public readonly double[] Rates = new double[threads], WordOps = new double[threads];
        public readonly long[] Starts = new long[threads], Ends = new long[threads];
        public ulong Sink;
        public void Execute(int index)
        {
            var rng = new Random(index + 1);
            int len = d.PatchLength;
            var a = new ulong[len]; var b = new ulong[len];
            for (int i = 0; i < len; i++) { a[i] = (ulong)rng.NextInt64(); b[i] = (ulong)rng.NextInt64(); }
            int words = d.PaddedK / 64, reps = Math.Max(1, 4096 / (len * words)); // ~128·4096 word-ops per burst: ~10–40 µs
            ulong acc = 0;
            var samples = new List<double>();
            Starts[index] = Stopwatch.GetTimestamp();
            long end = Starts[index] + (long)(seconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end || samples.Count < 50)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int r = 0; r < reps; r++)
                    for (int w = 0; w < words; w++)
                        acc += TK.BinaryWord2(d, ref a[0], ref b[0], w, 0, 0, out ulong bitsB) ^ bitsB;
                long t1 = Stopwatch.GetTimestamp();
                samples.Add(reps * 2.0 * 64 * len * words / ((t1 - t0) / (double)Stopwatch.Frequency) / 1e9);
                WordOps[index] += reps * 2.0 * 64 * len * words;
            }
            Ends[index] = Stopwatch.GetTimestamp();
            samples.Sort();
            Rates[index] = samples[samples.Count / 2];
            Interlocked.Add(ref Sink, acc);
        }
    }

    /// <summary>Items that each write their own cache line (never a shared counter: 16 threads incrementing one line would
    /// measure that line's contention, ~4 µs at 16 threads on the Xeon host, not the pool).</summary>
    sealed class EmptyWork(int items) : IParallelWork
    {
        readonly long[] _lines = new long[(items + 2) * 16];
        public void Execute(int index) => _lines[(index + 1) * 16]++;
    }

    /// <summary>One setting of the pool's hand-off for <see cref="ForkJoinVariants"/>.</summary>
    public sealed record PoolVariant(string Name, bool SlicedFor, int Spin, int PureSpinUs);

    /// <summary>The pool's earlier hand-off (one shared For counter, 4 pauses per poll, a yield every 64 polls from the
    /// start), the current default (sliced For) and two more changes on top, alone and together.</summary>
    public static IReadOnlyList<PoolVariant> Variants { get; } =
    [
        new("before: shared For, 4 pauses/poll, yields from the start", false, 4, 0),
        new("sliced For (default)", true, 4, 0),
        new("sliced For + 20 us without yields", true, 4, 20),
        new("sliced For + 20 us without yields + 1 pause/poll", true, 1, 20),
    ];

    /// <summary>For every variant in turn (<paramref name="rounds"/> times, alternated so that drifting vCPU speeds hit
    /// all alike) and thread count: the empty For, the empty region of 1 block and the per-boundary cost (region of 9 − of
    /// 1) / 8, each a median of 2000; the pool's settings are restored afterwards.</summary>
    public static List<(PoolVariant Variant, int Round, int Threads, TimingStats For, double RegionUs, double BoundaryUs)> ForkJoinVariants(
        CpuWorkerPool pool, IReadOnlyList<int> threads, int rounds = 2, int iterations = 2000)
    {
        var rows = new List<(PoolVariant, int, int, TimingStats, double, double)>();
        var (sliced, spin, pure) = (pool.SlicedFor, pool.SpinIterations, pool.PureSpinTicks);
        try
        {
            for (int round = 1; round <= rounds; round++)
                foreach (var v in Variants)
                {
                    pool.SlicedFor = v.SlicedFor; pool.SpinIterations = v.Spin; pool.PureSpinTicks = v.PureSpinUs * Stopwatch.Frequency / 1_000_000;
                    foreach (int t in threads)
                    {
                        var f = ForkJoin(pool, t, iterations);
                        double one = Region(pool, t, 1, iterations).MedianUs, nine = Region(pool, t, 9, iterations).MedianUs;
                        rows.Add((v, round, t, f, one, (nine - one) / 8));
                    }
                }
        }
        finally { (pool.SlicedFor, pool.SpinIterations, pool.PureSpinTicks) = (sliced, spin, pure); }
        return rows;
    }

    /// <summary>Median and p90 µs of one <see cref="CpuWorkerPool.For(int, IParallelWork, int)"/> of
    /// <paramref name="threads"/> empty items on as many threads (hand-off + completion wait).</summary>
    public static TimingStats ForkJoin(CpuWorkerPool pool, int threads, int iterations = 2000)
    {
        var work = new EmptyWork(threads);
        for (int i = 0; i < 200; i++) pool.For(threads, work, threads);
        var us = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            pool.For(threads, work, threads);
            us[i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
        }
        return TimingStats.From(us);
    }
}
