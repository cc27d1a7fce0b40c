using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HepBnn.Runtime;

namespace HepBnn.Ops.Cpu;

/// <summary>Per-block data the CPU kernels precompute once: the block and, for the image layer, weights transposed to
/// [ky][kx][c][K rounded up to 64] so that 64 output channels accumulate as vectors.</summary>
public sealed class CpuBlockData
{
    public Block Block { get; }
    public int[] ImageWeightsT { get; } = [];
    public int PaddedK { get; }

    public CpuBlockData(Block block)
    {
        Block = block;
        PaddedK = (block.OutChannels + 63) & ~63;
        if (block.ImageWeights is { } w)
        {
            int c = block.InputShape.C, kh = block.KernelH, kw = block.KernelW;
            ImageWeightsT = new int[kh * kw * c * PaddedK];
            for (int k = 0; k < block.OutChannels; k++)
                for (int t = 0; t < kh * kw * c; t++)
                    ImageWeightsT[t * PaddedK + k] = w[k * kh * kw * c + t];
        }
    }
}

/// <summary>The CPU computation of a block, as regions that configurations split among threads.
/// <typeparamref name="TDot"/> picks the popcount implementation; <c>vectorImage</c> picks the vectorised image layer.</summary>
public static class CpuBlockKernels
{
    /// <summary>Integer pre-activation of a binary layer at (oy, ox, k): valid bits − 2·popcount(a XOR w) over in-bounds taps.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BinaryConvAt<TDot>(Block b, ReadOnlySpan<ulong> sample, int oy, int ox, int k) where TDot : struct, IXorPopCount
    {
        var s = b.InputShape;
        int cw = s.ChannelWords, iy0 = oy * b.Stride - b.Padding, ix0 = ox * b.Stride - b.Padding;
        int kyLo = Math.Max(0, -iy0), kyHi = Math.Min(b.KernelH, s.H - iy0);
        int kxLo = Math.Max(0, -ix0), kxHi = Math.Min(b.KernelW, s.W - ix0);
        if (kyHi <= kyLo || kxHi <= kxLo) return 0; // every tap in the zero padding
        int len = (kxHi - kxLo) * cw, p = 0;
        ref ulong input = ref MemoryMarshal.GetReference(sample);
        ref ulong weights = ref MemoryMarshal.GetArrayDataReference(b.PackedWeights!);
        for (int ky = kyLo; ky < kyHi; ky++)
        {
            int a = ((iy0 + ky) * s.W + ix0 + kxLo) * cw;
            int w = ((k * b.KernelH + ky) * b.KernelW + kxLo) * cw;
            p += TDot.Count(ref Unsafe.Add(ref input, a), ref Unsafe.Add(ref weights, w), len);
        }
        return (kyHi - kyLo) * (kxHi - kxLo) * s.C - 2 * p;
    }

    /// <summary>Raw-pixel sums of the image layer at (oy, ox) for channels [k0, k0 + acc.Length), over in-bounds taps.</summary>
    public static void ImageConvAt(CpuBlockData d, ReadOnlySpan<byte> sample, int oy, int ox, int k0, Span<int> acc, bool vector)
    {
        var b = d.Block;
        var s = b.InputShape;
        int iy0 = oy * b.Stride - b.Padding, ix0 = ox * b.Stride - b.Padding;
        int kyLo = Math.Max(0, -iy0), kyHi = Math.Min(b.KernelH, s.H - iy0);
        int kxLo = Math.Max(0, -ix0), kxHi = Math.Min(b.KernelW, s.W - ix0);
        acc.Clear();
        var wt = d.ImageWeightsT.AsSpan();
        int n = acc.Length, vw = Vector<int>.Count;
        for (int ky = kyLo; ky < kyHi; ky++)
            for (int kx = kxLo; kx < kxHi; kx++)
                for (int c = 0; c < s.C; c++)
                {
                    int v = sample[((iy0 + ky) * s.W + ix0 + kx) * s.C + c];
                    var w = wt.Slice(((ky * b.KernelW + kx) * s.C + c) * d.PaddedK + k0, n);
                    int j = 0;
                    if (vector)
                    {
                        var vv = new Vector<int>(v);
                        for (; j <= n - vw; j += vw)
                            (new Vector<int>(acc[j..]) + vv * new Vector<int>(w[j..])).CopyTo(acc[j..]);
                    }
                    for (; j < n; j++) acc[j] += v * w[j];
                }
    }

    /// <summary>Bits output: words [w0, w1) of pooled output rows [py0, py1) of sample n (threshold, then OR/AND pooling).</summary>
    public static void BitsRegion<TDot>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int py0, int py1, int w0, int w1, bool vectorImage)
        where TDot : struct, IXorPopCount
    {
        var b = d.Block;
        var outShape = b.OutputShape;
        int ocw = outShape.ChannelWords, k = b.OutChannels;
        int pool = b.HasPool ? b.PoolSize : 1, pstride = b.HasPool ? b.PoolStride : 1;
        var outWords = ((HostBuffer)output).Span.Slice((int)(n * outShape.PackedWords), (int)outShape.PackedWords);
        bool image = b.Input == BlockInput.Image;
        var inHost = (HostBuffer)input;
        ReadOnlySpan<ulong> bitsSample = image ? default : inHost.Span.Slice((int)(n * b.InputShape.PackedWords), (int)b.InputShape.PackedWords);
        ReadOnlySpan<byte> imageSample = image ? inHost.Bytes.Slice((int)(n * b.InputShape.Elements), (int)b.InputShape.Elements) : default;
        Span<int> acc = stackalloc int[64];
        for (int py = py0; py < py1; py++)
            for (int px = 0; px < outShape.W; px++)
                for (int w = w0; w < w1; w++)
                {
                    int kBase = w * 64, kCount = Math.Min(64, k - kBase);
                    ulong any = 0, all = ~0UL;
                    for (int dy = 0; dy < pool; dy++)
                        for (int dx = 0; dx < pool; dx++)
                        {
                            int oy = py * pstride + dy, ox = px * pstride + dx;
                            if (image) ImageConvAt(d, imageSample, oy, ox, kBase, acc[..kCount], vectorImage);
                            ulong bits = 0;
                            for (int j = 0; j < kCount; j++)
                            {
                                int x = image ? acc[j] : BinaryConvAt<TDot>(b, bitsSample, oy, ox, kBase + j);
                                if (b.ThresholdAt(kBase + j, oy, ox).Fires(x)) bits |= 1UL << j;
                            }
                            any |= bits; all &= bits;
                        }
                    ulong andMask = b.HasPool ? b.PoolAndMask[w] : 0;
                    outWords[(py * outShape.W + px) * ocw + w] = (any & ~andMask) | (all & andMask);
                }
    }

    /// <summary>Scores output: int scores [pixels][K] for pixels [p0, p1) and channels [k0, k1) of sample n.</summary>
    public static void ScoresRegion<TDot>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int p0, int p1, int k0, int k1)
        where TDot : struct, IXorPopCount
    {
        var b = d.Block;
        var os = b.OutputShape;
        var scores = ((HostBuffer)output).Ints.Slice((int)(n * os.Elements), (int)os.Elements);
        var sample = ((HostBuffer)input).Span.Slice((int)(n * b.InputShape.PackedWords), (int)b.InputShape.PackedWords);
        for (int p = p0; p < p1; p++)
            for (int k = k0; k < k1; k++)
                scores[p * os.C + k] = BinaryConvAt<TDot>(b, sample, p / os.W, p % os.W, k);
    }
}
