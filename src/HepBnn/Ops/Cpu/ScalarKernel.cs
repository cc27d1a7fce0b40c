using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HepBnn.Ops.Cpu;

/// <summary>One channel at a time, one 64-bit POPCNT per word; the image layer as plain integer loops.</summary>
public struct ScalarKernel : ICpuKernel
{
    public static int BinaryLanes => 0;
    public static int ImageLanes => 0;
    public static bool IsSupported => true;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong BinaryWord(CpuBlockData d, ref ulong patch, int word, int cls)
    {
        int k0 = word * 64, n = Math.Min(64, d.Block.OutChannels - k0), len = d.PatchLength;
        ref ulong w = ref MemoryMarshal.GetArrayDataReference(d.Block.PackedWeights!);
        ref ulong lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Lo), cls * d.PaddedK + k0);
        ref ulong span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Span), cls * d.PaddedK + k0);
        ulong bits = 0;
        for (int j = 0; j < n; j++)
        {
            ulong p = (ulong)ScalarXorPopCount.Count(ref patch, ref Unsafe.Add(ref w, (nint)(k0 + j) * len), len);
            bits |= (ulong)(p - Unsafe.Add(ref lo, j) <= Unsafe.Add(ref span, j) ? 1 : 0) << j;
        }
        return bits;
    }

    /// <summary>Two pixels: one after the other (this kernel shares nothing between them).</summary>
    public static ulong BinaryWord2(CpuBlockData d, ref ulong patchA, ref ulong patchB, int word, int clsA, int clsB, out ulong bitsB)
    {
        bitsB = BinaryWord(d, ref patchB, word, clsB);
        return BinaryWord(d, ref patchA, word, clsA);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BinaryCounts(CpuBlockData d, ref ulong patch, int word, Span<ulong> counts)
    {
        int k0 = word * 64, n = Math.Min(64, d.Block.OutChannels - k0), len = d.PatchLength;
        ref ulong w = ref MemoryMarshal.GetArrayDataReference(d.Block.PackedWeights!);
        for (int j = 0; j < n; j++)
            counts[j] = (ulong)ScalarXorPopCount.Count(ref patch, ref Unsafe.Add(ref w, (nint)(k0 + j) * len), len);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong ImageWord(CpuBlockData d, ref byte patch, int word, int cls)
    {
        var b = d.Block;
        int k0 = word * 64, n = Math.Min(64, b.OutChannels - k0), taps = b.KernelH * b.KernelW * b.InputShape.C;
        ref sbyte w = ref MemoryMarshal.GetArrayDataReference(b.ImageWeights!);
        ref uint lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumLo), cls * d.PaddedK + k0);
        ref uint span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumSpan), cls * d.PaddedK + k0);
        ulong bits = 0;
        for (int j = 0; j < n; j++)
        {
            ref sbyte wk = ref Unsafe.Add(ref w, (nint)(k0 + j) * taps);
            int x = 0;
            for (int t = 0; t < taps; t++) x += Unsafe.Add(ref patch, t) * Unsafe.Add(ref wk, t);
            bits |= (ulong)((uint)x - Unsafe.Add(ref lo, j) <= Unsafe.Add(ref span, j) ? 1 : 0) << j;
        }
        return bits;
    }

    /// <summary>Two interior pixels: their patches composed on the stack, then two <see cref="ImageWord"/> calls.</summary>
    public static ulong ImageWord2Interior(CpuBlockData d, ref byte from, int step, int word, int clsA, int clsB, out ulong bitsB) =>
        CpuBlockKernels.ImageWordTwiceInterior<ScalarKernel>(d, ref from, step, word, clsA, clsB, out bitsB);

    /// <summary>Two pixels as two <see cref="ImageWord"/> calls (this kernel shares nothing between them).</summary>
    public static ulong ImageWord2(CpuBlockData d, ref byte patchA, ref byte patchB, int word, int clsA, int clsB, out ulong bitsB) =>
        CpuBlockKernels.ImageWordTwice<ScalarKernel>(d, ref patchA, ref patchB, word, clsA, clsB, out bitsB);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ImageSums(CpuBlockData d, ref byte patch, int word, int set, Span<int> sums)
    {
        var b = d.Block;
        int k0 = word * 64, n = Math.Min(64, b.OutChannels - k0), taps = d.ChannelPatchLength;
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ChannelImageWeights), (nint)set * d.ImageSetLength);
        patch = ref Unsafe.Add(ref patch, set * taps);
        for (int j = 0; j < n; j++)
        {
            ref sbyte wk = ref Unsafe.Add(ref w, (nint)(k0 + j) * taps);
            int x = 0;
            for (int t = 0; t < taps; t++) x += Unsafe.Add(ref patch, t) * Unsafe.Add(ref wk, t);
            sums[j] = x;
        }
    }

    public static ulong ImageChannelWord(CpuBlockData d, ref byte patch, int word, int cls) =>
        CpuBlockKernels.ChannelSumsWord<ScalarKernel>(d, ref patch, word, cls);
}
