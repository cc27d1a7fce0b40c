using HepBnn.Devices;
using ILGPU;
using static HepBnn.Ops.Gpu.GpuBlockMath;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The device code of a fused range: every stage (block) of the range in one launch, stages separated by
/// <see cref="GpuGridBarrier"/>. Threads walk each stage's work with a grid-stride loop in whole warps (work counts and
/// the grid's thread count are multiples of 32, so a warp's lanes are all in or all out, as the shuffles need).
/// Semantics are GpuBlockMath's (those of every other configuration): zero padding, border-class thresholds, pooling on
/// bits with the AND mask, integer scores. The first stage reads <c>input</c>, the last writes <c>output</c>; the others
/// go through <c>act</c>, each stage into its own region.
/// </summary>
public static class GpuFusedKernel
{
    /// <summary>The kernel of ranges with tensor-core stages (<see cref="GpuFusedMma"/>; SIMT stages too).</summary>
    public static void Kernel(ArrayView<GpuFusedStage> stages, int count, int batch, ArrayView<ulong> input,
        ArrayView<ulong> act, ArrayView<uint> actHalves, ArrayView<ulong> outWords, ArrayView<uint> outHalves, ArrayView<int> outScores,
        ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd, ArrayView<int> barrier)
    {
        GpuDependentLaunch.Wait();
        // The tensor-core stages' partial sums of split reductions (GpuFusedMma): one slice per warp.
        var partial = SharedMemory.Allocate<int>(GpuFusedMma.MaxWarps * GpuFusedMma.PartialInts);
        var table = SharedMemory.Allocate<GpuFusedStage>(CachedStages);
        Body(stages, count, batch, input, act, actHalves, outWords, outHalves, outScores, weights, meta, poolAnd, barrier, partial, table, true);
    }

    /// <summary>The kernel of ranges with SIMT stages only: without the tensor-core code the compiler needs far fewer
    /// registers (ptxas on the H200: 156 with it) and no shared partial sums, so more groups fit per multiprocessor and the
    /// SIMT stages keep their speed (measured there: VGG3 b1 whole range 34.7 µs alone, 43.2 µs inside the MMA kernel).</summary>
    public static void KernelSimt(ArrayView<GpuFusedStage> stages, int count, int batch, ArrayView<ulong> input,
        ArrayView<ulong> act, ArrayView<uint> actHalves, ArrayView<ulong> outWords, ArrayView<uint> outHalves, ArrayView<int> outScores,
        ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd, ArrayView<int> barrier)
    {
        GpuDependentLaunch.Wait();
        var none = SharedMemory.Allocate<int>(1);
        var table = SharedMemory.Allocate<GpuFusedStage>(CachedStages);
        Body(stages, count, batch, input, act, actHalves, outWords, outHalves, outScores, weights, meta, poolAnd, barrier, none, table, false);
    }

    /// <summary>Stages whose table entry a group keeps in shared memory (read once per launch instead of from global
    /// memory at every stage: one L2 round trip less on each stage's critical path); later stages read global memory.</summary>
    public const int CachedStages = 16;

    /// <summary>Both kernels (inlined into each; <paramref name="mma"/> is a constant there, so the SIMT kernel has no MMA code).</summary>
    static void Body(ArrayView<GpuFusedStage> stages, int count, int batch, ArrayView<ulong> input,
        ArrayView<ulong> act, ArrayView<uint> actHalves, ArrayView<ulong> outWords, ArrayView<uint> outHalves, ArrayView<int> outScores,
        ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd, ArrayView<int> barrier, ArrayView<int> partial,
        ArrayView<GpuFusedStage> table, bool mma)
    {
        int groups = Grid.DimX, threads = groups * Group.DimX, tid = Grid.IdxX * Group.DimX + Group.IdxX;
        int generation = Group.IdxX == 0 ? GpuGridBarrier.Generation(barrier) : 0;
        for (int i = Group.IdxX; i < count && i < CachedStages; i += Group.DimX) table[i] = stages[i];
        Group.Barrier();
        // Warp-per-channel stages OR their bits atomically: zero their outputs first (the first barrier orders it).
        for (int s = 1; s < count; s++)
        {
            var z = s < CachedStages ? table[s] : stages[s];
            if (z.Mode == (int)GpuFusedMode.ThreadPerOutput || z.Mode >= (int)GpuFusedMode.TensorCore || z.P.ScoresOutput == 1) continue;
            long half0 = s == count - 1 ? 0 : z.OutOffset * 2, halves = (long)batch * z.P.OutSample * 2;
            for (long i = tid; i < halves; i += threads)
            {
                if (s == count - 1) outHalves[i] = 0;
                else actHalves[half0 + i] = 0;
            }
        }
        for (int s = 0; s < count; s++)
        {
            if (s > 0) GpuGridBarrier.Sync(barrier, groups, ref generation);
            var st = s < CachedStages ? table[s] : stages[s];
            if (st.Skip != 0) continue;
            var p = st.P;
            bool first = s == 0, last = s == count - 1;
            var src = first ? input : act;
            long inBase = first ? 0 : st.InOffset;
            var halvesOut = last ? outHalves : actHalves;
            long outBase = last ? 0 : st.OutOffset;
            var w = weights.SubView(st.WeightOffset, st.WeightLength);
            var m = meta.SubView(st.MetaOffset, st.MetaLength);
            var pa = poolAnd.SubView(st.PoolOffset, st.PoolLength);
            if (mma && st.Mode >= (int)GpuFusedMode.TensorCore) GpuFusedMma.Stage(st, batch, src, inBase, last ? outWords : act, outBase, outScores, w, m, pa, partial);
            else if (st.Mode == (int)GpuFusedMode.WarpPerChannel) DenseStage(p, batch, src, inBase, halvesOut, outScores, outBase, w, m, tid, threads);
            else if (st.Mode == (int)GpuFusedMode.WarpPerOutput) WarpOutputStage(p, batch, src, inBase, halvesOut, outBase, w, m, pa, tid, threads);
            else OutputStage(p, batch, src, inBase, halvesOut, outScores, outBase, w, m, pa, tid, threads);
        }
    }

    /// <summary>One thread per (sample, pooled pixel, channel slot).</summary>
    static void OutputStage(GpuBlockParams p, int batch, ArrayView<ulong> src, long inBase, ArrayView<uint> halves,
        ArrayView<int> scores, long outBase, ArrayView<ulong> w, ArrayView<int> m, ArrayView<ulong> pa, int tid, int threads)
    {
        int slots = p.ChannelSlots, pixels = p.OutH * p.OutW;
        long perSample = (long)pixels * slots, total = batch * perSample;
        for (long t = tid; t < total; t += threads)
        {
            int n = (int)(t / perSample), r = (int)(t - n * perSample);
            int pixel = r / slots, k = r - pixel * slots;
            int py = pixel / p.OutW, px = pixel - py * p.OutW;
            long sampleIn = inBase + (long)n * p.InSample;
            if (p.ScoresOutput == 1)
            {
                if (k < p.K) scores[(long)n * p.OutSample + (long)pixel * p.K + k] = Dot(p, src, sampleIn, w, m, py, px, k, false);
                continue;
            }
            bool bit = k < p.K && PooledBit(p, src, sampleIn, w, m, pa, py, px, k, false);
            uint half = WarpOr(bit ? 1u << (k & 31) : 0u);
            if ((k & 31) == 0) halves[(outBase + (long)n * p.OutSample + (long)pixel * p.OutWords) * 2 + (k >> 5)] = half;
        }
    }

    /// <summary>One warp per (sample, pooled pixel, channel) of a conv block on bits (see <see cref="GpuFusedMode.WarpPerOutput"/>).</summary>
    static void WarpOutputStage(GpuBlockParams p, int batch, ArrayView<ulong> src, long inBase, ArrayView<uint> halves, long outBase,
        ArrayView<ulong> w, ArrayView<int> m, ArrayView<ulong> pa, int tid, int threads)
    {
        int lane = tid & 31, window = p.Pool * p.Pool, perWindow = 32 / window;
        int pos = lane / perWindow, sub = lane - pos * perWindow;
        int dy = pos / p.Pool, dx = pos - dy * p.Pool;
        int items = p.KH * p.KW * p.InWords, pixels = p.OutH * p.OutW;
        long perSample = (long)pixels * p.K, total = batch * perSample * 32;
        for (long t = tid; t < total; t += threads)
        {
            long warp = t >> 5;
            int n = (int)(warp / perSample), r = (int)(warp - n * perSample);
            int pixel = r / p.K, k = r - pixel * p.K;
            int py = pixel / p.OutW, px = pixel - py * p.OutW;
            int oy = py * p.PoolStride + dy, ox = px * p.PoolStride + dx;
            int iy0 = oy * p.Stride - p.Pad, ix0 = ox * p.Stride - p.Pad;
            long a = inBase + (long)n * p.InSample, b = (long)k * items;
            int pop = 0;
            for (int i = sub; i < items; i += perWindow)
            {
                int tap = i / p.InWords, word = i - tap * p.InWords;
                int ky = tap / p.KW, kx = tap - ky * p.KW;
                int iy = iy0 + ky, ix = ix0 + kx;
                if (iy >= 0 && iy < p.InH && ix >= 0 && ix < p.InW)
                    pop += GpuPopc.Count(src[a + ((long)iy * p.InW + ix) * p.InWords + word] ^ w[b + i]);
            }
            for (int d = perWindow >> 1; d >= 1; d >>= 1) pop += Warp.ShuffleXor(pop, d);
            int taps = (TapHi(iy0, p.KH, p.InH) - TapLo(iy0)) * (TapHi(ix0, p.KW, p.InW) - TapLo(ix0));
            int fires = Fires(p, m, taps * p.InC - 2 * pop, k, oy, ox) ? 1 : 0;
            int any = fires, all = fires;
            for (int d = perWindow; d < 32; d <<= 1)
            {
                any |= Warp.ShuffleXor(any, d);
                all &= Warp.ShuffleXor(all, d);
            }
            bool bit = PoolsWithAnd(pa, k) ? all != 0 : any != 0;
            if (lane == 0 && bit) Atomic.Or(ref halves[(outBase + (long)n * p.OutSample + (long)pixel * p.OutWords) * 2 + (k >> 5)], 1u << (k & 31));
        }
    }

    /// <summary>One warp per (sample, channel) of a dense block on bits without pooling.</summary>
    static void DenseStage(GpuBlockParams p, int batch, ArrayView<ulong> src, long inBase, ArrayView<uint> halves,
        ArrayView<int> scores, long outBase, ArrayView<ulong> w, ArrayView<int> m, int tid, int threads)
    {
        int words = p.KH * p.KW * p.InWords, lane = tid & 31;
        long total = (long)batch * p.K * 32;
        for (long t = tid; t < total; t += threads)
        {
            long warp = t >> 5;
            int n = (int)(warp / p.K), k = (int)(warp - (long)n * p.K);
            long a = inBase + (long)n * p.InSample, b = (long)k * words;
            int pop = 0;
            for (int i = lane; i < words; i += 32) pop += GpuPopc.Count(src[a + i] ^ w[b + i]);
            for (int d = 16; d >= 1; d >>= 1) pop += Warp.ShuffleXor(pop, d);
            if (lane != 0) continue;
            int x = p.KH * p.KW * p.InC - 2 * pop;
            if (p.ScoresOutput == 1) scores[(long)n * p.OutSample + k] = x;
            else if (Fires(p, m, x, k, 0, 0)) Atomic.Or(ref halves[(outBase + (long)n * p.OutSample) * 2 + (k >> 5)], 1u << (k & 31));
        }
    }
}
