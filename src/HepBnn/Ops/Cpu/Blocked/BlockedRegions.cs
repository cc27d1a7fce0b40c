using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using HepBnn.Devices;

namespace HepBnn.Ops.Cpu;

/// <summary>Working memory of one worker for a register-blocked binary block (allocated at Prepare).</summary>
public sealed class BlockedScratch
{
    public ulong[] PatchA { get; }
    public ulong[] PatchB { get; }
    /// <summary>Output words of the pixel pair for the region's words, then the pooling OR / AND accumulators.</summary>
    public ulong[] BitsA { get; }
    public ulong[] BitsB { get; }
    public ulong[] Any { get; }
    public ulong[] All { get; }

    public BlockedScratch(CpuBlockData d)
    {
        int patch = d.PatchIsSample ? 0 : d.PatchLength, words = d.Block.OutputWords;
        // padded like CpuScratch's arrays: the workers' scratches lie next to each other
        PatchA = CpuScratch.Padded<ulong>(patch); PatchB = CpuScratch.Padded<ulong>(patch);
        BitsA = CpuScratch.Padded<ulong>(words); BitsB = CpuScratch.Padded<ulong>(words);
        Any = CpuScratch.Padded<ulong>(words); All = CpuScratch.Padded<ulong>(words);
    }
}

/// <summary>Region loops of the register-blocked binary kernels: conv output pixels are taken in pairs (neighbours in
/// a row, or the members of a pooling window), both patches gathered, and every 4-channel group of the region computed
/// for both pixels by one <typeparamref name="TB"/> call; thresholds, bit packing and max pooling (OR / AND) are applied
/// on the counts still in registers. Same semantics and tables as <see cref="CpuBlockKernels"/>.</summary>
public static class BlockedRegions
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Bits<TB>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int py0, int py1, int w0, int w1, BlockedScratch s)
        where TB : struct, IBlockedPopCount
    {
        var b = d.Block;
        var os = b.OutputShape;
        int ocw = os.ChannelWords, words = w1 - w0;
        ref ulong outWords = ref MemoryMarshal.GetReference(((HostBuffer)output).Span.Slice((int)(n * os.PackedWords), (int)os.PackedWords));
        ref ulong sample = ref Unsafe.As<byte, ulong>(ref CpuBlockKernels.SampleStart(d, (HostBuffer)input, n));
        if (!b.HasPool)
        {
            for (int y = py0; y < py1; y++)
            {
                int x = 0;
                for (; x + 2 <= os.W; x += 2)
                {
                    PairWords<TB>(d, ref sample, y, x, y, x + 1, w0, w1, s);
                    for (int i = 0; i < words; i++)
                    {
                        Unsafe.Add(ref outWords, (y * os.W + x) * ocw + w0 + i) = s.BitsA[i];
                        Unsafe.Add(ref outWords, (y * os.W + x + 1) * ocw + w0 + i) = s.BitsB[i];
                    }
                }
                if (x < os.W)
                {
                    SingleWords<TB>(d, ref sample, y, x, w0, w1, s);
                    for (int i = 0; i < words; i++) Unsafe.Add(ref outWords, (y * os.W + x) * ocw + w0 + i) = s.BitsA[i];
                }
            }
            return;
        }
        int size = b.PoolSize, stride = b.PoolStride, window = size * size;
        for (int py = py0; py < py1; py++)
            for (int px = 0; px < os.W; px++)
            {
                for (int i = 0; i < words; i++) { s.Any[i] = 0; s.All[i] = ~0UL; }
                int t = 0;
                for (; t + 2 <= window; t += 2)
                {
                    PairWords<TB>(d, ref sample, py * stride + t / size, px * stride + t % size,
                        py * stride + (t + 1) / size, px * stride + (t + 1) % size, w0, w1, s);
                    for (int i = 0; i < words; i++)
                    {
                        ulong a = s.BitsA[i], c = s.BitsB[i];
                        s.Any[i] |= a | c;
                        s.All[i] &= a & c;
                    }
                }
                if (t < window)
                {
                    SingleWords<TB>(d, ref sample, py * stride + t / size, px * stride + t % size, w0, w1, s);
                    for (int i = 0; i < words; i++) { s.Any[i] |= s.BitsA[i]; s.All[i] &= s.BitsA[i]; }
                }
                int o = (py * os.W + px) * ocw;
                for (int w = w0; w < w1; w++)
                {
                    ulong and = b.PoolAndMask[w];
                    Unsafe.Add(ref outWords, o + w) = (s.Any[w - w0] & ~and) | (s.All[w - w0] & and);
                }
            }
    }

    /// <summary>Groups of 4 channels of output word <paramref name="w"/>: [first, end).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (int First, int End) Groups(CpuBlockData d, int w) => (w * 16, Math.Min(w * 16 + 16, (d.Block.OutChannels + 3) >> 2));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Fire(CpuBlockData d, Vector256<ulong> counts, int cls, int g) =>
        Vector256.LessThanOrEqual(counts - Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(d.Lo), (nuint)(cls * d.PaddedK + g * 4)),
            Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(d.Span), (nuint)(cls * d.PaddedK + g * 4))).ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int ClassOf(CpuBlockData d, int oy, int ox) => d.RowClass[oy] * d.ColClasses + d.ColClass[ox];

    /// <summary>Output words [w0, w1) of conv pixels (ya, xa) and (yb, xb) into BitsA / BitsB.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PairWords<TB>(CpuBlockData d, ref ulong sample, int ya, int xa, int yb, int xb, int w0, int w1, BlockedScratch s)
        where TB : struct, IBlockedPopCount
    {
        int ca = ClassOf(d, ya, xa), cb = ClassOf(d, yb, xb), len = d.PatchLength;
        ref ulong pa = ref CpuBlockKernels.GatherBits(d, ref sample, ya, xa, s.PatchA);
        ref ulong pb = ref CpuBlockKernels.GatherBits(d, ref sample, yb, xb, s.PatchB);
        ref ulong weights = ref MemoryMarshal.GetArrayDataReference(d.LaneWeights);
        for (int w = w0; w < w1; w++)
        {
            var (g0, g1) = Groups(d, w);
            ulong bitsA = 0, bitsB = 0;
            for (int g = g0; g < g1; g++)
            {
                TB.Pair(ref Unsafe.Add(ref weights, (nint)g * len * 4), ref pa, ref pb, len, out var countsA, out var countsB);
                bitsA |= Fire(d, countsA, ca, g) << (4 * (g - g0));
                bitsB |= Fire(d, countsB, cb, g) << (4 * (g - g0));
            }
            s.BitsA[w - w0] = bitsA;
            s.BitsB[w - w0] = bitsB;
        }
    }

    /// <summary>Output words [w0, w1) of conv pixel (y, x) into BitsA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void SingleWords<TB>(CpuBlockData d, ref ulong sample, int y, int x, int w0, int w1, BlockedScratch s)
        where TB : struct, IBlockedPopCount
    {
        int cls = ClassOf(d, y, x), len = d.PatchLength;
        ref ulong pa = ref CpuBlockKernels.GatherBits(d, ref sample, y, x, s.PatchA);
        ref ulong weights = ref MemoryMarshal.GetArrayDataReference(d.LaneWeights);
        for (int w = w0; w < w1; w++)
        {
            var (g0, g1) = Groups(d, w);
            ulong bits = 0;
            for (int g = g0; g < g1; g++)
                bits |= Fire(d, TB.Single(ref Unsafe.Add(ref weights, (nint)g * len * 4), ref pa, len), cls, g) << (4 * (g - g0));
            s.BitsA[w - w0] = bits;
        }
    }

    /// <summary>Scores output: int scores [pixels][K] for pixels [p0, p1) and channel words [w0, w1) of sample n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scores<TB>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int p0, int p1, int w0, int w1, BlockedScratch s)
        where TB : struct, IBlockedPopCount
    {
        var b = d.Block;
        var os = b.OutputShape;
        int k = b.OutChannels, len = d.PatchLength;
        var scores = ((HostBuffer)output).Ints.Slice((int)(n * os.Elements), (int)os.Elements);
        ref ulong sample = ref Unsafe.As<byte, ulong>(ref CpuBlockKernels.SampleStart(d, (HostBuffer)input, n));
        ref ulong weights = ref MemoryMarshal.GetArrayDataReference(d.LaneWeights);
        for (int p = p0; p < p1; p++)
        {
            int oy = p / os.W, ox = p % os.W, cls = ClassOf(d, oy, ox);
            ref ulong patch = ref CpuBlockKernels.GatherBits(d, ref sample, oy, ox, s.PatchA);
            for (int w = w0; w < w1; w++)
            {
                var (g0, g1) = Groups(d, w);
                for (int g = g0; g < g1; g++)
                {
                    var counts = TB.Single(ref Unsafe.Add(ref weights, (nint)g * len * 4), ref patch, len);
                    for (int i = 0; i < 4 && g * 4 + i < k; i++)
                        scores[p * k + g * 4 + i] = d.Corr[cls * d.PaddedK + g * 4 + i] - 2 * (int)counts.GetElement(i);
                }
            }
        }
    }
}
