using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>popcount(a XOR b) over n contiguous words: the inner loop of every binary layer on the CPU.
/// Struct implementations let the JIT specialise and inline each kernel per variant.</summary>
public interface IXorPopCount
{
    static abstract int Count(ref ulong a, ref ulong b, int n);
}

/// <summary>One 64-bit word at a time with the scalar POPCNT instruction.</summary>
public struct ScalarXorPopCount : IXorPopCount
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(ref ulong a, ref ulong b, int n)
    {
        // Four independent sums keep several POPCNTs in flight.
        int p0 = 0, p1 = 0, p2 = 0, p3 = 0, i = 0;
        for (; i + 4 <= n; i += 4)
        {
            p0 += BitOperations.PopCount(Unsafe.Add(ref a, i) ^ Unsafe.Add(ref b, i));
            p1 += BitOperations.PopCount(Unsafe.Add(ref a, i + 1) ^ Unsafe.Add(ref b, i + 1));
            p2 += BitOperations.PopCount(Unsafe.Add(ref a, i + 2) ^ Unsafe.Add(ref b, i + 2));
            p3 += BitOperations.PopCount(Unsafe.Add(ref a, i + 3) ^ Unsafe.Add(ref b, i + 3));
        }
        for (; i < n; i++) p0 += BitOperations.PopCount(Unsafe.Add(ref a, i) ^ Unsafe.Add(ref b, i));
        return p0 + p1 + p2 + p3;
    }
}

/// <summary>AVX-512BW (Vector512): nibble lookup popcount (VPSHUFB) summed with VPSADBW, 8 words per step.
/// .NET 10 exposes no VPOPCNTDQ intrinsic, so this is the widest popcount C# can emit; <see cref="Devices.CpuFeatures"/>
/// still reports whether the CPU has VPOPCNTDQ.</summary>
public struct Avx512XorPopCount : IXorPopCount
{
    public static bool IsSupported => Avx512BW.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(ref ulong a, ref ulong b, int n)
    {
        int i = 0, p = 0;
        if (n >= 8)
        {
            var lut = Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            var low = Vector512.Create((byte)0x0F);
            var acc = Vector512<ulong>.Zero;
            for (; i <= n - 8; i += 8)
            {
                var x = (Vector512.LoadUnsafe(ref a, (nuint)i) ^ Vector512.LoadUnsafe(ref b, (nuint)i)).AsByte();
                var cnt = Avx512BW.Add(Avx512BW.Shuffle(lut, x & low), Avx512BW.Shuffle(lut, Avx512BW.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low));
                acc += Avx512BW.SumAbsoluteDifferences(cnt, Vector512<byte>.Zero).AsUInt64();
            }
            p = (int)Vector512.Sum(acc);
        }
        return p + Avx2XorPopCount.Count(ref Unsafe.Add(ref a, i), ref Unsafe.Add(ref b, i), n - i);
    }
}

/// <summary>AVX2 (Vector256): nibble lookup popcount (VPSHUFB) summed with VPSADBW, for CPUs without VPOPCNTDQ.</summary>
public struct Avx2XorPopCount : IXorPopCount
{
    public static bool IsSupported => Avx2.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Count(ref ulong a, ref ulong b, int n)
    {
        int i = 0;
        if (n >= 4)
        {
            var lut = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            var low = Vector256.Create((byte)0x0F);
            var acc = Vector256<ulong>.Zero;
            for (; i <= n - 4; i += 4)
            {
                var x = (Vector256.LoadUnsafe(ref a, (nuint)i) ^ Vector256.LoadUnsafe(ref b, (nuint)i)).AsByte();
                var cnt = Avx2.Add(Avx2.Shuffle(lut, x & low), Avx2.Shuffle(lut, Avx2.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low));
                acc += Avx2.SumAbsoluteDifferences(cnt, Vector256<byte>.Zero).AsUInt64();
            }
            int p0 = (int)Vector256.Sum(acc);
            return p0 + ScalarXorPopCount.Count(ref Unsafe.Add(ref a, i), ref Unsafe.Add(ref b, i), n - i);
        }
        return ScalarXorPopCount.Count(ref a, ref b, n);
    }
}
