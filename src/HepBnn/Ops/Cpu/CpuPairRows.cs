using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HepBnn.Devices;

namespace HepBnn.Ops.Cpu;

/// <summary>Binary convs of the AVX-512 two-pixel kernel (<see cref="CpuBlockData.PairXorPatches"/>), chunk by chunk:
/// the pixel pairs of a row (or of a row of pooling windows) are gathered first, then
/// <see cref="Simd512Kernel.BinaryWordPairs"/> runs each 16-channel group over all of them. Pixel pair by pixel pair,
/// every pair streamed all the layer's weights (VGG7's conv4–conv6: 74–295 KB, past the 32 KB L1) from L2, which and
/// not the ALUs bounded those layers; a group's weights (≤ 9 KB there) now stay in L1 for the chunk.</summary>
public static class CpuPairRows
{
    /// <summary>Blocks this path runs: pair-XOR data, and pooling windows whose rows split into pixel pairs.</summary>
    public static bool Applies(CpuBlockData d) => d.PairXorPatches && (!d.Block.HasPool || d.Block.PoolSize % 2 == 0);

    /// <summary>Pairs per chunk (patches of a chunk ≤ ~16 KB, half the L1, so the group's weights fit beside them; at
    /// least one pooling window) and the words per gathered patch (whole cache lines).</summary>
    public static (int Pairs, int Stride) ChunkOf(CpuBlockData d)
    {
        int stride = (d.PatchLength + 7) & ~7;
        int window = d.Block.HasPool ? d.Block.PoolSize * d.Block.PoolSize / 2 : 1;
        return (Math.Max(window, Math.Clamp(1024 / stride, 1, 16)), stride);
    }

    /// <summary>Bits output: words [w0, w1) of (pooled) output pixels [py0, py1) × [px0, px1) of sample n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BitsRegion(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int py0, int py1, int px0, int px1, int w0, int w1, CpuScratch s)
    {
        var b = d.Block;
        var os = b.OutputShape;
        int ocw = os.ChannelWords;
        var outWords = ((HostBuffer)output).Span.Slice((int)(n * os.PackedWords), (int)os.PackedWords);
        ref ulong sample = ref Unsafe.As<byte, ulong>(ref CpuBlockKernels.SampleStart(d, (HostBuffer)input, n));
        if (!b.HasPool)
        {
            for (int y = py0; y < py1; y++)
            {
                int x = px0;
                while (x + 1 < px1)
                {
                    int pairs = Math.Min(s.ChunkPairs, (px1 - x) / 2);
                    for (int i = 0; i < 2 * pairs; i++) Gather(d, ref sample, y, x + i, s, i);
                    for (int w = w0; w < w1; w++)
                    {
                        Simd512Kernel.BinaryWordPairs(d, s, pairs, w);
                        for (int i = 0; i < 2 * pairs; i++) outWords[(y * os.W + x + i) * ocw + w] = s.PairBits[i];
                    }
                    x += 2 * pairs;
                }
                if (x < px1) CpuBlockKernels.PixelsRegion<Simd512Kernel>(d, input, output, n, y, y + 1, x, px1, w0, w1, s);
            }
            return;
        }
        int size = b.PoolSize, stride = b.PoolStride, window = size * size / 2, perChunk = s.ChunkPairs / window;
        for (int py = py0; py < py1; py++)
            for (int px = px0; px < px1; px += perChunk)
            {
                int outs = Math.Min(perChunk, px1 - px), slot = 0;
                for (int o = 0; o < outs; o++)
                    for (int dy = 0; dy < size; dy++)
                        for (int dx = 0; dx < size; dx++)
                            Gather(d, ref sample, py * stride + dy, (px + o) * stride + dx, s, slot++);
                for (int w = w0; w < w1; w++)
                {
                    Simd512Kernel.BinaryWordPairs(d, s, outs * window, w);
                    ulong and = b.PoolAndMask[w];
                    for (int o = 0; o < outs; o++)
                    {
                        ulong any = 0, all = ~0UL;
                        for (int i = 2 * window * o; i < 2 * window * (o + 1); i++)
                        {
                            any |= s.PairBits[i];
                            all &= s.PairBits[i];
                        }
                        outWords[(py * os.W + px + o) * ocw + w] = (any & ~and) | (all & and);
                    }
                }
            }
    }

    /// <summary>Output word <paramref name="w"/> of one cell of <see cref="CpuPartition.PixelsSplit"/>: pooled pixel
    /// (<paramref name="py"/>, <paramref name="px0"/>), or conv outputs [<paramref name="px0"/>, <paramref name="px1"/>) of
    /// row <paramref name="py"/> (up to <see cref="CpuPartitions.CellPixels"/>, in pairs; an odd count's last pixel alone)
    /// for blocks without pooling. The cell's patches are gathered only when this worker's scratch does not hold them
    /// already for this run (<paramref name="token"/>, <paramref name="cell"/>): a participant runs its cells' words back to
    /// back, so it gathers each cell once, as <c>cpu.mt-pixels</c> does, and a thief gathers only the cells it takes words of.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void CellWord(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int py, int px0, int px1, int w, CpuScratch s, long token, int cell)
    {
        var b = d.Block;
        var os = b.OutputShape;
        int ocw = os.ChannelWords;
        int size = b.HasPool ? b.PoolSize : 1, pairs = b.HasPool ? size * size / 2 : (px1 - px0) / 2;
        if (pairs > s.ChunkPairs) // patches too long for a cell's pairs in the scratch (thousands of input channels)
        {
            s.CachedCell[0] = 0; // the chunked path below overwrites the pair slots
            CpuBlockKernels.BitsRegion<Simd512Kernel>(d, input, output, n, py, py + 1, px0, px1, w, w + 1, s);
            return;
        }
        if (!b.HasPool && (px1 - px0) % 2 == 1) // an odd row's last pixel: the one-pixel kernel (it does not touch the pair slots)
        {
            CpuBlockKernels.PixelsRegion<Simd512Kernel>(d, input, output, n, py, py + 1, px1 - 1, px1, w, w + 1, s);
            if (pairs == 0) return;
        }
        var outWords = ((HostBuffer)output).Span.Slice((int)(n * os.PackedWords), (int)os.PackedWords);
        ref long cached = ref MemoryMarshal.GetArrayDataReference(s.CachedCell);
        if (cached != token || Unsafe.Add(ref cached, 1) != cell)
        {
            ref ulong sample = ref Unsafe.As<byte, ulong>(ref CpuBlockKernels.SampleStart(d, (HostBuffer)input, n));
            if (b.HasPool)
            {
                int stride = b.PoolStride, slot = 0;
                for (int dy = 0; dy < size; dy++)
                    for (int dx = 0; dx < size; dx++)
                        Gather(d, ref sample, py * stride + dy, px0 * stride + dx, s, slot++);
            }
            else
                for (int i = 0; i < 2 * pairs; i++) Gather(d, ref sample, py, px0 + i, s, i);
            cached = token;
            Unsafe.Add(ref cached, 1) = cell;
        }
        Simd512Kernel.BinaryWordPairs(d, s, pairs, w);
        int o = (py * os.W + px0) * ocw + w;
        if (!b.HasPool)
        {
            for (int i = 0; i < 2 * pairs; i++) outWords[o + i * ocw] = s.PairBits[i];
            return;
        }
        ulong any = 0, all = ~0UL, and = b.PoolAndMask[w];
        for (int i = 0; i < 2 * pairs; i++)
        {
            any |= s.PairBits[i];
            all &= s.PairBits[i];
        }
        outWords[o] = (any & ~and) | (all & and);
    }

    /// <summary>Patch and border class of conv output (oy, ox) into chunk slot <paramref name="slot"/>, in pair-XOR form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Gather(CpuBlockData d, ref ulong sample, int oy, int ox, CpuScratch s, int slot)
    {
        var patch = s.PairPatches.AsSpan(slot * s.PairStride, s.PairStride);
        CpuBlockKernels.XorPairHalves(ref CpuBlockKernels.GatherBits(d, ref sample, oy, ox, patch), d.PatchLength);
        s.PairClasses[slot] = d.RowClass[oy] * d.ColClasses + d.ColClass[ox];
    }
}
