using HepBnn.Model;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HepBnn.Devices;

namespace HepBnn.Ops.Cpu;

/// <summary>The CPU computation of a block, as regions that configurations split among threads. Per conv output pixel
/// the patch is gathered once (<see cref="CpuBlockData"/>) and every channel word of the region is computed from it by
/// <typeparamref name="TK"/>; pooled outputs visit their window once and combine the words with OR / AND.</summary>
public static class CpuBlockKernels
{
    /// <summary>Bits output: words [w0, w1) of pooled output rows [py0, py1) of sample n.</summary>
    public static void BitsRegion<TK>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int py0, int py1, int w0, int w1, CpuScratch s)
        where TK : struct, ICpuKernel => BitsRegion<TK>(d, input, output, n, py0, py1, 0, d.Block.OutputShape.W, w0, w1, s);

    /// <summary>Bits output: words [w0, w1) of pooled output pixels [py0, py1) × [px0, px1) of sample n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BitsRegion<TK>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int py0, int py1, int px0, int px1, int w0, int w1, CpuScratch s)
        where TK : struct, ICpuKernel
    {
        if (CpuPairRows.Applies(d))
        {
            CpuPairRows.BitsRegion(d, input, output, n, py0, py1, px0, px1, w0, w1, s);
            return;
        }
        PixelsRegion<TK>(d, input, output, n, py0, py1, px0, px1, w0, w1, s);
    }

    /// <summary><see cref="BitsRegion"/> pixel (pair) by pixel (pair): each pixel's words computed before the next's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PixelsRegion<TK>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int py0, int py1, int px0, int px1, int w0, int w1, CpuScratch s)
        where TK : struct, ICpuKernel
    {
        var b = d.Block;
        var os = b.OutputShape;
        int ocw = os.ChannelWords;
        var outWords = ((HostBuffer)output).Span.Slice((int)(n * os.PackedWords), (int)os.PackedWords);
        ref byte sample = ref SampleStart(d, (HostBuffer)input, n);
        // Conv pixels go in pairs (neighbours in a row, or in a pooling window's row) so that a kernel can share its
        // weight loads between the two: binary convs, and image layers whose sums fit int16.
        bool pairs = d.IsImage ? d.HasSums16 : !d.PatchIsSample;
        if (!b.HasPool)
        {
            for (int y = py0; y < py1; y++)
            {
                int x = px0;
                if (pairs)
                    for (; x + 1 < px1; x += 2)
                    {
                        ref ulong dst = ref outWords[(y * os.W + x) * ocw];
                        PixelPairWords<TK>(d, ref sample, y, x, w0, w1, s, ref dst, ref Unsafe.Add(ref dst, ocw), pool: 0);
                    }
                for (; x < px1; x++)
                {
                    ref ulong dst = ref outWords[(y * os.W + x) * ocw];
                    PixelWords<TK>(d, ref sample, y, x, w0, w1, s, ref dst, pool: 0);
                }
            }
            return;
        }
        int size = b.PoolSize, stride = b.PoolStride, words = w1 - w0;
        for (int py = py0; py < py1; py++)
            for (int px = px0; px < px1; px++)
            {
                for (int i = 0; i < words; i++) { s.Any[i] = 0; s.All[i] = ~0UL; } // a few words: no memset call
                for (int dy = 0; dy < size; dy++)
                {
                    int dx = 0;
                    if (pairs)
                        for (; dx + 1 < size; dx += 2)
                            PixelPairWords<TK>(d, ref sample, py * stride + dy, px * stride + dx, w0, w1, s, ref s.Any[0], ref s.Any[0], pool: 1);
                    for (; dx < size; dx++)
                        PixelWords<TK>(d, ref sample, py * stride + dy, px * stride + dx, w0, w1, s, ref s.Any[0], pool: 1);
                }
                int o = (py * os.W + px) * ocw;
                for (int w = w0; w < w1; w++)
                {
                    ulong and = b.PoolAndMask[w];
                    outWords[o + w] = (s.Any[w - w0] & ~and) | (s.All[w - w0] & and);
                }
            }
    }

    /// <summary>Image word with per-channel divisors, for kernels without a fused one: the kernel's own dot product
    /// once per input channel over its plane of the patch (DESIGN.md "First layer"), combined as P = Σ_c q_c·S_c in
    /// 64-bit integers and tested against the class's [WideLo, WideHi].</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static ulong ChannelSumsWord<TK>(CpuBlockData d, ref byte patch, int word, int cls) where TK : struct, ICpuKernel
    {
        Span<int> sums = stackalloc int[64 * InputNormalizationLimits.MaxChannels];
        var q = d.Multipliers;
        int channels = q.Length, k0 = word * 64, n = Math.Min(64, d.Block.OutChannels - k0);
        for (int c = 0; c < channels; c++) TK.ImageSums(d, ref patch, word, c, sums.Slice(64 * c, 64));
        ReadOnlySpan<long> lo = d.WideLo.AsSpan(cls * d.PaddedK + k0, n), hi = d.WideHi.AsSpan(cls * d.PaddedK + k0, n);
        ulong bits = 0;
        for (int j = 0; j < n; j++)
        {
            long p = 0;
            for (int c = 0; c < channels; c++) p += q[c] * sums[64 * c + j];
            bits |= (ulong)(p >= lo[j] && p <= hi[j] ? 1 : 0) << j;
        }
        return bits;
    }

    /// <summary>Computes words [w0, w1) of conv output (oy, ox): stores them at <paramref name="dst"/>[w] (pool 0) or
    /// ORs / ANDs them into the scratch accumulators (pool 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PixelWords<TK>(CpuBlockData d, ref byte sample, int oy, int ox, int w0, int w1, CpuScratch s, ref ulong dst, int pool)
        where TK : struct, ICpuKernel
    {
        int cls = d.RowClass[oy] * d.ColClasses + d.ColClass[ox];
        if (d.IsImage)
        {
            ref byte patch = ref GatherPixels(d, ref sample, oy, ox, s.Pixels);
            if (d.HasChannelSums)
                for (int w = w0; w < w1; w++) Store(TK.ImageChannelWord(d, ref patch, w, cls), w, w0, s, ref dst, pool);
            else
                for (int w = w0; w < w1; w++) Store(TK.ImageWord(d, ref patch, w, cls), w, w0, s, ref dst, pool);
        }
        else
        {
            ref ulong patch = ref GatherBits(d, ref Unsafe.As<byte, ulong>(ref sample), oy, ox, s.Patch);
            for (int w = w0; w < w1; w++) Store(TK.BinaryWord(d, ref patch, w, cls), w, w0, s, ref dst, pool);
        }
    }

    /// <summary>As <see cref="PixelWords"/> for conv outputs (oy, ox) and (oy, ox + 1) at once, binary or an image layer
    /// whose sums fit int16 (destinations <paramref name="dstA"/> and <paramref name="dstB"/> for pool 0; both OR / AND
    /// into the scratch for pool 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PixelPairWords<TK>(CpuBlockData d, ref byte sample, int oy, int ox, int w0, int w1, CpuScratch s, ref ulong dstA, ref ulong dstB, int pool)
        where TK : struct, ICpuKernel
    {
        int row = d.RowClass[oy] * d.ColClasses, clsA = row + d.ColClass[ox], clsB = row + d.ColClass[ox + 1];
        if (d.IsImage)
        {
            ImagePairWords<TK>(d, ref sample, oy, ox, w0, w1, s, ref dstA, ref dstB, pool, clsA, clsB);
            return;
        }
        ref ulong a = ref GatherBits(d, ref Unsafe.As<byte, ulong>(ref sample), oy, ox, s.Patch);
        ref ulong b = ref GatherBits(d, ref Unsafe.As<byte, ulong>(ref sample), oy, ox + 1, s.PatchB);
        if (d.PairXorPatches)
        {
            XorPairHalves(ref a, d.PatchLength);
            XorPairHalves(ref b, d.PatchLength);
        }
        for (int w = w0; w < w1; w++)
        {
            ulong bitsA = TK.BinaryWord2(d, ref a, ref b, w, clsA, clsB, out ulong bitsB);
            Store(bitsA, w, w0, s, ref dstA, pool);
            Store(bitsB, w, w0, s, ref dstB, pool);
        }
    }

    /// <summary>The pair-XOR form of a gathered patch (<see cref="CpuBlockData.PairXorPatches"/>): each word's high half
    /// XORed with its low half, in place (once per pixel, for all its output channels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void XorPairHalves(ref ulong patch, int length)
    {
        for (int i = 0; i < length; i++)
        {
            ref ulong p = ref Unsafe.Add(ref patch, i);
            p ^= p << 32;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(ulong bits, int w, int w0, CpuScratch s, ref ulong dst, int pool)
    {
        if (pool == 0) { Unsafe.Add(ref dst, w) = bits; return; }
        s.Any[w - w0] |= bits;
        s.All[w - w0] &= bits;
    }

    /// <summary>Scores output: int scores [pixels][K] for pixels [p0, p1) and channel words [w0, w1) of sample n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ScoresRegion<TK>(CpuBlockData d, TensorBuffer input, TensorBuffer output, int n, int p0, int p1, int w0, int w1, CpuScratch s)
        where TK : struct, ICpuKernel
    {
        var b = d.Block;
        var os = b.OutputShape;
        int k = b.OutChannels;
        var scores = ((HostBuffer)output).Ints.Slice((int)(n * os.Elements), (int)os.Elements);
        ref ulong sample = ref Unsafe.As<byte, ulong>(ref SampleStart(d, (HostBuffer)input, n));
        for (int p = p0; p < p1; p++)
        {
            int oy = p / os.W, ox = p % os.W, cls = d.RowClass[oy] * d.ColClasses + d.ColClass[ox];
            ref ulong patch = ref GatherBits(d, ref sample, oy, ox, s.Patch);
            for (int w = w0; w < w1; w++)
            {
                TK.BinaryCounts(d, ref patch, w, s.Counts);
                int kEnd = Math.Min(k, w * 64 + 64);
                for (int ch = w * 64; ch < kEnd; ch++)
                    scores[p * k + ch] = d.Corr[cls * d.PaddedK + ch] - 2 * (int)s.Counts[ch - w * 64];
            }
        }
    }

    /// <summary>First byte of sample n of the input (image bytes or packed words), bounds-checked once per region.</summary>
    internal static ref byte SampleStart(CpuBlockData d, HostBuffer input, int n)
    {
        var s = d.Block.InputShape;
        return ref d.IsImage
            ? ref MemoryMarshal.GetReference(input.Bytes.Slice((int)(n * s.Elements), (int)s.Elements))
            : ref Unsafe.As<ulong, byte>(ref MemoryMarshal.GetReference(input.Span.Slice((int)(n * s.PackedWords), (int)s.PackedWords)));
    }

    /// <summary>The binary patch of conv output (oy, ox): [ky][kx][ChannelWords] with zeros at out-of-bounds taps, or
    /// the sample itself for a dense block. Tap ranges come from the border class, so every read is in bounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ref ulong GatherBits(CpuBlockData d, ref ulong sample, int oy, int ox, ulong[] patch)
    {
        if (d.PatchIsSample) return ref sample;
        return ref GatherBits(d, ref sample, oy, ox, patch.AsSpan(0, d.PatchLength));
    }

    /// <summary><see cref="GatherBits(CpuBlockData, ref ulong, int, int, ulong[])"/> of a conv into
    /// <paramref name="patch"/> (PatchLength words).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ref ulong GatherBits(CpuBlockData d, ref ulong sample, int oy, int ox, Span<ulong> patch)
    {
        var b = d.Block;
        int cw = b.InputWords, kw = b.KernelW, rowWords = b.InputShape.W * cw;
        int iy0 = oy * b.Stride - b.Padding, ix0 = ox * b.Stride - b.Padding;
        var (ylo, yhi) = d.RowTaps[d.RowClass[oy]];
        var (xlo, xhi) = d.ColTaps[d.ColClass[ox]];
        if (ylo != 0 || yhi != b.KernelH || xlo != 0 || xhi != kw) patch[..d.PatchLength].Clear(); // not the padding
        ref ulong dst = ref MemoryMarshal.GetReference(patch);
        int run = (xhi - xlo) * cw;
        for (int ky = ylo; ky < yhi && run > 0; ky++)
        {
            ref ulong src = ref Unsafe.Add(ref sample, (nint)(iy0 + ky) * rowWords + (ix0 + xlo) * cw);
            ref ulong to = ref Unsafe.Add(ref dst, (ky * kw + xlo) * cw);
            for (int i = 0; i < run; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref src, i);
        }
        return ref dst;
    }

    /// <summary>The image-layer half of <see cref="PixelPairWords"/>: interior pairs straight from the sample
    /// (<see cref="ICpuKernel.ImageWord2Interior"/>), border pairs through gathered patches.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void ImagePairWords<TK>(CpuBlockData d, ref byte sample, int oy, int ox, int w0, int w1, CpuScratch s, ref ulong dstA, ref ulong dstB,
                                   int pool, int clsA, int clsB) where TK : struct, ICpuKernel
    {
        var b = d.Block;
        if (d.FullRow[oy] && d.FullCol[ox] && d.FullCol[ox + 1])
        {
            int c = b.InputShape.C;
            ref byte from = ref Unsafe.Add(ref sample, (nint)(oy * b.Stride - b.Padding) * b.InputShape.W * c + (ox * b.Stride - b.Padding) * c);
            for (int w = w0; w < w1; w++)
            {
                ulong bitsA = TK.ImageWord2Interior(d, ref from, b.Stride * c, w, clsA, clsB, out ulong bitsB);
                Store(bitsA, w, w0, s, ref dstA, pool);
                Store(bitsB, w, w0, s, ref dstB, pool);
            }
            return;
        }
        ref byte pa = ref GatherPixels(d, ref sample, oy, ox, s.Pixels);
        ref byte pb = ref GatherPixels(d, ref sample, oy, ox + 1, s.PixelsB);
        for (int w = w0; w < w1; w++)
        {
            ulong bitsA = TK.ImageWord2(d, ref pa, ref pb, w, clsA, clsB, out ulong bitsB);
            Store(bitsA, w, w0, s, ref dstA, pool);
            Store(bitsB, w, w0, s, ref dstB, pool);
        }
    }

    /// <summary>The patches of two interior pixels (A's top-left tap at <paramref name="from"/>, B's
    /// <paramref name="step"/> bytes on) written to <paramref name="dstA"/> / <paramref name="dstB"/>
    /// (<see cref="CpuBlockData.PatchLength"/> bytes each), each pixel pair as one 16-bit store.</summary>
    internal static void ComposeInterior(CpuBlockData d, ref byte from, int step, ref byte dstA, ref byte dstB)
    {
        ref int off = ref MemoryMarshal.GetArrayDataReference(d.PixelOffsets);
        ref ushort toA = ref Unsafe.As<byte, ushort>(ref dstA);
        ref ushort toB = ref Unsafe.As<byte, ushort>(ref dstB);
        for (int t = 0, pairs = d.PatchLength >> 1; t < pairs; t++)
        {
            int o0 = Unsafe.Add(ref off, 2 * t), o1 = Unsafe.Add(ref off, 2 * t + 1);
            uint hiA = o1 >= 0 ? Unsafe.Add(ref from, o1) : 0u, hiB = o1 >= 0 ? Unsafe.Add(ref from, o1 + step) : 0u;
            Unsafe.Add(ref toA, t) = (ushort)(Unsafe.Add(ref from, o0) | hiA << 8);
            Unsafe.Add(ref toB, t) = (ushort)(Unsafe.Add(ref from, o0 + step) | hiB << 8);
        }
    }

    /// <summary><see cref="ICpuKernel.ImageWord2"/> of a kernel that shares nothing between the two pixels: two
    /// <see cref="ICpuKernel.ImageWord"/> calls.</summary>
    internal static ulong ImageWordTwice<TK>(CpuBlockData d, ref byte patchA, ref byte patchB, int word, int clsA, int clsB, out ulong bitsB)
        where TK : ICpuKernel
    {
        bitsB = TK.ImageWord(d, ref patchB, word, clsB);
        return TK.ImageWord(d, ref patchA, word, clsA);
    }

    /// <summary><see cref="ICpuKernel.ImageWord2Interior"/> of such a kernel: both patches composed on the stack
    /// (<see cref="ComposeInterior"/>), then <see cref="ImageWordTwice{TK}"/>.</summary>
    internal static ulong ImageWordTwiceInterior<TK>(CpuBlockData d, ref byte from, int step, int word, int clsA, int clsB, out ulong bitsB)
        where TK : ICpuKernel
    {
        Span<byte> a = stackalloc byte[d.PatchLength], b = stackalloc byte[d.PatchLength];
        ComposeInterior(d, ref from, step, ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b));
        return ImageWordTwice<TK>(d, ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b), word, clsA, clsB, out bitsB);
    }

    /// <summary>The image patch of conv output (oy, ox) as pixel bytes [ky][kx][C], zeros at out-of-bounds taps and in
    /// the pair padding; planar [C][ky][kx] for per-channel sums (<see cref="CpuBlockData.ChannelPatchLength"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ref byte GatherPixels(CpuBlockData d, ref byte sample, int oy, int ox, byte[] patch)
    {
        var b = d.Block;
        int c = b.InputShape.C, kw = b.KernelW, rowBytes = b.InputShape.W * c;
        int iy0 = oy * b.Stride - b.Padding, ix0 = ox * b.Stride - b.Padding;
        var (ylo, yhi) = d.RowTaps[d.RowClass[oy]];
        var (xlo, xhi) = d.ColTaps[d.ColClass[ox]];
        ref byte dst = ref MemoryMarshal.GetArrayDataReference(patch);
        if (ylo == 0 && yhi == b.KernelH && xlo == 0 && xhi == kw)
        {
            // interior pixel: each pixel pair composed in a register and stored once (CpuBlockData.PixelOffsets)
            ref byte from = ref Unsafe.Add(ref sample, (nint)iy0 * rowBytes + ix0 * c);
            ref int off = ref MemoryMarshal.GetArrayDataReference(d.PixelOffsets);
            ref ushort to = ref Unsafe.As<byte, ushort>(ref dst);
            for (int t = 0, pairs = d.PatchLength >> 1; t < pairs; t++)
            {
                int o1 = Unsafe.Add(ref off, 2 * t + 1);
                uint hi = o1 >= 0 ? Unsafe.Add(ref from, o1) : 0u;
                Unsafe.Add(ref to, t) = (ushort)(Unsafe.Add(ref from, Unsafe.Add(ref off, 2 * t)) | hi << 8);
            }
            return ref dst;
        }
        patch.AsSpan().Clear();
        if (d.ChannelPatchLength > 0)
        {
            int plane = d.ChannelPatchLength, n = xhi - xlo;
            for (int ky = ylo; ky < yhi; ky++)
            {
                ref byte from = ref Unsafe.Add(ref sample, (nint)(iy0 + ky) * rowBytes + (ix0 + xlo) * c);
                ref byte to = ref Unsafe.Add(ref dst, ky * kw + xlo);
                if (c == 3) // RGB, the usual case: the channel loop unrolled (VGG7's first layer gathers 1,024 patches per image)
                    for (int kx = 0; kx < n; kx++)
                    {
                        Unsafe.Add(ref to, kx) = Unsafe.Add(ref from, 3 * kx);
                        Unsafe.Add(ref to, plane + kx) = Unsafe.Add(ref from, 3 * kx + 1);
                        Unsafe.Add(ref to, 2 * plane + kx) = Unsafe.Add(ref from, 3 * kx + 2);
                    }
                else
                    for (int kx = 0; kx < n; kx++)
                        for (int ch = 0; ch < c; ch++)
                            Unsafe.Add(ref to, ch * plane + kx) = Unsafe.Add(ref from, kx * c + ch);
            }
            return ref dst;
        }
        int run = (xhi - xlo) * c;
        for (int ky = ylo; ky < yhi && run > 0; ky++)
        {
            ref byte to = ref Unsafe.Add(ref dst, (ky * kw + xlo) * c);
            ref byte from = ref Unsafe.Add(ref sample, (nint)(iy0 + ky) * rowBytes + (ix0 + xlo) * c);
            if (run > 32) Unsafe.CopyBlockUnaligned(ref to, ref from, (uint)run);
            else for (int i = 0; i < run; i++) Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i); // short rows: no memmove call
        }
        return ref dst;
    }
}
