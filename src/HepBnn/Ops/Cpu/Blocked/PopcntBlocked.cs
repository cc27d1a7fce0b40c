using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>Scalar 64-bit POPCNT, 4 channels × 2 pixels: 8 independent accumulators, 2 patch words and 4 weight words
/// per step, 8 POPCNTs. On cores with several POPCNT ports (Intel Xeon) this out-runs the VPSHUFB routes.</summary>
public struct PopcntBlocked : IBlockedPopCount
{
    public static bool IsSupported => Popcnt.X64.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Pop(ulong v) => Popcnt.X64.IsSupported ? Popcnt.X64.PopCount(v) : (ulong)BitOperations.PopCount(v);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pair(ref ulong w, ref ulong a, ref ulong b, int len, out Vector256<ulong> countsA, out Vector256<ulong> countsB)
    {
        ulong a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
        for (nint j = 0; j < len; j++)
        {
            ulong x = Unsafe.Add(ref a, j), y = Unsafe.Add(ref b, j);
            ref ulong wj = ref Unsafe.Add(ref w, j * 4);
            ulong w0 = wj, w1 = Unsafe.Add(ref wj, 1), w2 = Unsafe.Add(ref wj, 2), w3 = Unsafe.Add(ref wj, 3);
            a0 += Pop(x ^ w0); a1 += Pop(x ^ w1); a2 += Pop(x ^ w2); a3 += Pop(x ^ w3);
            b0 += Pop(y ^ w0); b1 += Pop(y ^ w1); b2 += Pop(y ^ w2); b3 += Pop(y ^ w3);
        }
        countsA = Vector256.Create(a0, a1, a2, a3);
        countsB = Vector256.Create(b0, b1, b2, b3);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector256<ulong> Single(ref ulong w, ref ulong a, int len)
    {
        ulong a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (nint j = 0; j < len; j++)
        {
            ulong x = Unsafe.Add(ref a, j);
            ref ulong wj = ref Unsafe.Add(ref w, j * 4);
            a0 += Pop(x ^ wj); a1 += Pop(x ^ Unsafe.Add(ref wj, 1)); a2 += Pop(x ^ Unsafe.Add(ref wj, 2)); a3 += Pop(x ^ Unsafe.Add(ref wj, 3));
        }
        return Vector256.Create(a0, a1, a2, a3);
    }
}
