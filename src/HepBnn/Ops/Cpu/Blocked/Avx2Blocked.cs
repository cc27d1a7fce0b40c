using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>AVX2, 4 channels (one Vector256) × 2 pixels: per patch word one weight load, two broadcasts, two XORs and
/// two nibble-LUT popcounts (VPSHUFB) into per-byte accumulators, summed per channel by VPSADBW every 31 words (a byte
/// holds at most 8 per word, 31·8 = 248 &lt; 256).</summary>
public struct Avx2Blocked : IBlockedPopCount
{
    public static bool IsSupported => Avx2.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> PopBytes(Vector256<ulong> v)
    {
        var lut = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var low = Vector256.Create((byte)0x0F);
        var x = v.AsByte();
        return Avx2.Shuffle(lut, x & low) + Avx2.Shuffle(lut, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<ulong> Sad(Vector256<byte> v) => Avx2.SumAbsoluteDifferences(v, Vector256<byte>.Zero).AsUInt64();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Pair(ref ulong w, ref ulong a, ref ulong b, int len, out Vector256<ulong> countsA, out Vector256<ulong> countsB)
    {
        Vector256<ulong> ta = default, tb = default;
        for (int j0 = 0; j0 < len; j0 += 31)
        {
            int j1 = Math.Min(len, j0 + 31);
            Vector256<byte> ba = default, bb = default;
            for (int j = j0; j < j1; j++)
            {
                var wv = Vector256.LoadUnsafe(ref w, (nuint)j * 4);
                ba += PopBytes(Vector256.Create(Unsafe.Add(ref a, j)) ^ wv);
                bb += PopBytes(Vector256.Create(Unsafe.Add(ref b, j)) ^ wv);
            }
            ta += Sad(ba); tb += Sad(bb);
        }
        countsA = ta; countsB = tb;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static Vector256<ulong> Single(ref ulong w, ref ulong a, int len)
    {
        Vector256<ulong> t = default;
        for (int j0 = 0; j0 < len; j0 += 31)
        {
            int j1 = Math.Min(len, j0 + 31);
            Vector256<byte> acc0 = default, acc1 = default;
            int j = j0;
            for (; j + 2 <= j1; j += 2) // two chains in flight
            {
                acc0 += PopBytes(Vector256.Create(Unsafe.Add(ref a, j)) ^ Vector256.LoadUnsafe(ref w, (nuint)j * 4));
                acc1 += PopBytes(Vector256.Create(Unsafe.Add(ref a, j + 1)) ^ Vector256.LoadUnsafe(ref w, (nuint)(j + 1) * 4));
            }
            if (j < j1) acc0 += PopBytes(Vector256.Create(Unsafe.Add(ref a, j)) ^ Vector256.LoadUnsafe(ref w, (nuint)j * 4));
            t += Sad(acc0) + Sad(acc1);
        }
        return t;
    }
}
