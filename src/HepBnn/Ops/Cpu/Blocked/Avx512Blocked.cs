using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>AVX-512BW, 4 channels × 2 pixels in one Vector512: the low half holds pixel a's 4 channel lanes, the high
/// half pixel b's; per patch word one 256-bit weight load broadcast to both halves, the two patch words merged by a
/// masked broadcast, one XOR and one 512-bit nibble-LUT popcount (VPSHUFB), VPSADBW every 31 words.
/// (.NET 10 has no VPOPCNTDQ intrinsic nor a Vector512 popcount the JIT lowers to it, so this is the widest route.)</summary>
public struct Avx512Blocked : IBlockedPopCount
{
    public static bool IsSupported => Avx512BW.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> PopBytes(Vector512<ulong> v)
    {
        var lut = Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var low = Vector512.Create((byte)0x0F);
        var x = v.AsByte();
        return Avx512BW.Shuffle(lut, x & low) + Avx512BW.Shuffle(lut, Avx512BW.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pair(ref ulong w, ref ulong a, ref ulong b, int len, out Vector256<ulong> countsA, out Vector256<ulong> countsB)
    {
        Vector512<ulong> total = default;
        var highHalf = Vector512.Create(0UL, 0, 0, 0, ~0UL, ~0UL, ~0UL, ~0UL);
        for (int j0 = 0; j0 < len; j0 += 31)
        {
            int j1 = Math.Min(len, j0 + 31);
            Vector512<byte> acc = default;
            for (int j = j0; j < j1; j++)
            {
                var wv = Vector256.LoadUnsafe(ref w, (nuint)j * 4);
                var ww = Avx512F.InsertVector256(wv.ToVector512Unsafe(), wv, 1);
                var pp = Vector512.ConditionalSelect(highHalf, Vector512.Create(Unsafe.Add(ref b, j)), Vector512.Create(Unsafe.Add(ref a, j)));
                acc += PopBytes(pp ^ ww);
            }
            total += Avx512BW.SumAbsoluteDifferences(acc, Vector512<byte>.Zero).AsUInt64();
        }
        countsA = total.GetLower();
        countsB = total.GetUpper();
    }

    /// <summary>One pixel: two consecutive patch words per Vector512 (low half word j, high half word j + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector256<ulong> Single(ref ulong w, ref ulong a, int len)
    {
        Vector512<ulong> total = default;
        var highHalf = Vector512.Create(0UL, 0, 0, 0, ~0UL, ~0UL, ~0UL, ~0UL);
        int pairs = len & ~1;
        for (int j0 = 0; j0 < pairs; j0 += 62)
        {
            int j1 = Math.Min(pairs, j0 + 62);
            Vector512<byte> acc = default;
            for (int j = j0; j < j1; j += 2)
            {
                var ww = Vector512.LoadUnsafe(ref w, (nuint)j * 4);
                var pp = Vector512.ConditionalSelect(highHalf, Vector512.Create(Unsafe.Add(ref a, j + 1)), Vector512.Create(Unsafe.Add(ref a, j)));
                acc += PopBytes(pp ^ ww);
            }
            total += Avx512BW.SumAbsoluteDifferences(acc, Vector512<byte>.Zero).AsUInt64();
        }
        var t = total.GetLower() + total.GetUpper();
        if (pairs < len)
            t += Avx2.SumAbsoluteDifferences(Avx2Blocked.PopBytes(Vector256.Create(Unsafe.Add(ref a, pairs)) ^ Vector256.LoadUnsafe(ref w, (nuint)pairs * 4)), Vector256<byte>.Zero).AsUInt64();
        return t;
    }
}
