using System.Runtime.Intrinsics;

namespace HepBnn.Ops.Cpu;

/// <summary>The register-blocked inner loop of a binary block: popcount(patch XOR weights) summed over the patch for
/// one group of 4 output channels and one or two output pixels, every accumulator in a register, each weight word
/// loaded once per pixel pair. Weights are laid out [group][len][4] at Prepare (<see cref="CpuBlockData.LaneWeights"/>
/// with 4 lanes), the order the loop reads them. Implementations differ only in the popcount instruction route.</summary>
public interface IBlockedPopCount
{
    static abstract bool IsSupported { get; }
    /// <summary>Counts of channels [0, 4) of the group for pixel a and pixel b.</summary>
    static abstract void Pair(ref ulong w, ref ulong a, ref ulong b, int len, out Vector256<ulong> countsA, out Vector256<ulong> countsB);
    /// <summary>Counts of channels [0, 4) of the group for one pixel (dense layers, odd leftovers).</summary>
    static abstract Vector256<ulong> Single(ref ulong w, ref ulong a, int len);
}
