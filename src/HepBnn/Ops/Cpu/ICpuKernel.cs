namespace HepBnn.Ops.Cpu;

/// <summary>The arithmetic of one CPU flavour, for one patch and one 64-channel output word. Static abstract members on
/// structs let the JIT specialise and inline the region loops of <see cref="CpuBlockKernels"/> per flavour.
/// <c>patch</c> is the gathered patch (<see cref="CpuBlockData"/>); <c>cls</c> the pixel's border class.</summary>
public interface ICpuKernel
{
    /// <summary>Channels per vector of the binary kernel (0 = scalar layout), for <see cref="CpuBlockData"/>.</summary>
    static abstract int BinaryLanes { get; }
    /// <summary>int16 channels per vector of the image kernel (0 = scalar layout).</summary>
    static abstract int ImageLanes { get; }
    static abstract bool IsSupported { get; }

    /// <summary>Binary input: the 64 thresholded output bits of channels [64·word, 64·word + 64).</summary>
    static abstract ulong BinaryWord(CpuBlockData d, ref ulong patch, int word, int cls);

    /// <summary>Binary input, two output pixels at once (kernels may share weight loads between them): the bits of
    /// patch A (returned) and of patch B (<paramref name="bitsB"/>).</summary>
    static abstract ulong BinaryWord2(CpuBlockData d, ref ulong patchA, ref ulong patchB, int word, int clsA, int clsB, out ulong bitsB);

    /// <summary>Binary input: P = popcount(patch XOR weights) of the channels of <paramref name="word"/> into counts[0..64).</summary>
    static abstract void BinaryCounts(CpuBlockData d, ref ulong patch, int word, Span<ulong> counts);

    /// <summary>Image input (pixel bytes, even count): the 64 thresholded output bits of the channels of <paramref name="word"/>.</summary>
    static abstract ulong ImageWord(CpuBlockData d, ref byte patch, int word, int cls);

    /// <summary>Image input, two output pixels at once (kernels may share weight loads between them): the bits of
    /// patch A (returned) and of patch B (<paramref name="bitsB"/>). Not for per-channel divisors.</summary>
    static abstract ulong ImageWord2(CpuBlockData d, ref byte patchA, ref byte patchB, int word, int clsA, int clsB, out ulong bitsB);

    /// <summary>As <see cref="ImageWord2"/> for two interior pixels (all taps in bounds) read straight from the sample:
    /// <paramref name="from"/> is pixel A's top-left tap, pixel B's is <paramref name="step"/> bytes on; patch byte j
    /// is at offset <see cref="CpuBlockData.PixelOffsets"/>[j] (no gathered copy).</summary>
    static abstract ulong ImageWord2Interior(CpuBlockData d, ref byte from, int step, int word, int clsA, int clsB, out ulong bitsB);

    /// <summary>Image input, per-channel divisors: the raw sums S_c of the channels of <paramref name="word"/> for input
    /// channel c = <paramref name="set"/> (its plane of the planar patch, weight set c of
    /// <see cref="CpuBlockData.ChannelImageWeights"/>) into sums[0..64).</summary>
    static abstract void ImageSums(CpuBlockData d, ref byte patch, int word, int set, Span<int> sums);

    /// <summary>Image input, per-channel divisors: the 64 thresholded output bits of the channels of <paramref name="word"/>
    /// (P = Σ_c q_c·S_c in 64-bit against [WideLo, WideHi]); <see cref="CpuBlockKernels.ChannelSumsWord"/> unless the
    /// kernel fuses it.</summary>
    static abstract ulong ImageChannelWord(CpuBlockData d, ref byte patch, int word, int cls);
}
