using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Ops.Cpu;

/// <summary>AVX-512BW, vectorised over output channels: a Vector512 holds 8 channels' 64-bit lanes; each patch word is
/// broadcast and XORed with the 8 channels' weight words, a carry-save tree (VPTERNLOGQ) compresses 8 such vectors
/// into one that the nibble-LUT popcount (VPSHUFB) counts, and VPSADBW sums bytes per channel. No horizontal sums.
/// The image layer multiply-adds unsigned pixel pairs with ±1 weight pairs into 32 int16 channel sums (VPMADDUBSW).
/// (.NET 10 exposes no VPOPCNTDQ intrinsic; this is the widest popcount C# can emit.)</summary>
public struct Simd512Kernel : ICpuKernel
{
    public static int BinaryLanes => 8;
    public static int ImageLanes => 32;
    public static bool IsSupported => Avx512BW.IsSupported;

    static Vector512<byte> Lut
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    }

    /// <summary>Per-byte popcount (0..8) by nibble lookup (VPSHUFB), or with AVX-512 VBMI by one 128-entry lookup of
    /// the low 7 bits (VPERMI2B ignores bit 7 of the index) plus the top bit: 4 instructions instead of 6.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> PopBytes(Vector512<ulong> v, Vector512<byte> lut)
    {
        var x = v.AsByte();
        if (Avx512Vbmi.IsSupported)
            return Avx512Vbmi.PermuteVar64x8x2(Pop7Low, x, Pop7High)
                   + (Avx512BW.ShiftRightLogical(x.AsUInt16(), 7) & Vector512.Create((ushort)0x0101)).AsByte();
        var low = Vector512.Create((byte)0x0F);
        return Avx512BW.Shuffle(lut, x & low) + Avx512BW.Shuffle(lut, Avx512BW.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
    }

    /// <summary>popcount of 0..63 and 64..127 (the two tables of VPERMI2B).</summary>
    static Vector512<byte> Pop7Low
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5,
        1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6);
    }
    static Vector512<byte> Pop7High
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6,
        2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6, 3, 4, 4, 5, 4, 5, 5, 6, 4, 5, 5, 6, 5, 6, 6, 7);
    }

    /// <summary>2^k · popcount of 0..63 and 64..127 (the VPERMI2B tables of <see cref="Finish"/>; ≤ 7·8 = 56 per
    /// byte). Constants written out: static readonly vectors cost a class-initialisation check per use in these
    /// AggressiveOptimization methods (measured 5x slower).</summary>
    static Vector512<byte> Pop7Low2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)0, 2, 2, 4, 2, 4, 4, 6, 2, 4, 4, 6, 4, 6, 6, 8, 2, 4, 4, 6, 4, 6, 6, 8, 4, 6, 6, 8, 6, 8, 8, 10, 2, 4, 4, 6, 4, 6, 6, 8, 4, 6, 6, 8, 6, 8, 8, 10, 4, 6, 6, 8, 6, 8, 8, 10, 6, 8, 8, 10, 8, 10, 10, 12);
    }
    static Vector512<byte> Pop7High2
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)2, 4, 4, 6, 4, 6, 6, 8, 4, 6, 6, 8, 6, 8, 8, 10, 4, 6, 6, 8, 6, 8, 8, 10, 6, 8, 8, 10, 8, 10, 10, 12, 4, 6, 6, 8, 6, 8, 8, 10, 6, 8, 8, 10, 8, 10, 10, 12, 6, 8, 8, 10, 8, 10, 10, 12, 8, 10, 10, 12, 10, 12, 12, 14);
    }
    static Vector512<byte> Pop7Low4
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)0, 4, 4, 8, 4, 8, 8, 12, 4, 8, 8, 12, 8, 12, 12, 16, 4, 8, 8, 12, 8, 12, 12, 16, 8, 12, 12, 16, 12, 16, 16, 20, 4, 8, 8, 12, 8, 12, 12, 16, 8, 12, 12, 16, 12, 16, 16, 20, 8, 12, 12, 16, 12, 16, 16, 20, 12, 16, 16, 20, 16, 20, 20, 24);
    }
    static Vector512<byte> Pop7High4
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)4, 8, 8, 12, 8, 12, 12, 16, 8, 12, 12, 16, 12, 16, 16, 20, 8, 12, 12, 16, 12, 16, 16, 20, 12, 16, 16, 20, 16, 20, 20, 24, 8, 12, 12, 16, 12, 16, 16, 20, 12, 16, 16, 20, 16, 20, 20, 24, 12, 16, 16, 20, 16, 20, 20, 24, 16, 20, 20, 24, 20, 24, 24, 28);
    }
    static Vector512<byte> Pop7Low8
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)0, 8, 8, 16, 8, 16, 16, 24, 8, 16, 16, 24, 16, 24, 24, 32, 8, 16, 16, 24, 16, 24, 24, 32, 16, 24, 24, 32, 24, 32, 32, 40, 8, 16, 16, 24, 16, 24, 24, 32, 16, 24, 24, 32, 24, 32, 32, 40, 16, 24, 24, 32, 24, 32, 32, 40, 24, 32, 32, 40, 32, 40, 40, 48);
    }
    static Vector512<byte> Pop7High8
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)8, 16, 16, 24, 16, 24, 24, 32, 16, 24, 24, 32, 24, 32, 32, 40, 16, 24, 24, 32, 24, 32, 32, 40, 24, 32, 32, 40, 32, 40, 40, 48, 16, 24, 24, 32, 24, 32, 32, 40, 24, 32, 32, 40, 32, 40, 40, 48, 24, 32, 32, 40, 32, 40, 40, 48, 32, 40, 40, 48, 40, 48, 48, 56);
    }

    static Vector512<byte> Pop7Low16
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)0, 16, 16, 32, 16, 32, 32, 48, 16, 32, 32, 48, 32, 48, 48, 64, 16, 32, 32, 48, 32, 48, 48, 64, 32, 48, 48, 64, 48, 64, 64, 80, 16, 32, 32, 48, 32, 48, 48, 64, 32, 48, 48, 64, 48, 64, 64, 80, 32, 48, 48, 64, 48, 64, 64, 80, 48, 64, 64, 80, 64, 80, 80, 96);
    }
    static Vector512<byte> Pop7High16
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.Create((byte)16, 32, 32, 48, 32, 48, 48, 64, 32, 48, 48, 64, 48, 64, 64, 80, 32, 48, 48, 64, 48, 64, 64, 80, 48, 64, 64, 80, 64, 80, 80, 96, 32, 48, 48, 64, 48, 64, 64, 80, 48, 64, 64, 80, 64, 80, 80, 96, 48, 64, 64, 80, 64, 80, 80, 96, 64, 80, 80, 96, 80, 96, 96, 112);
    }

    /// <summary>Carry-save adder (VPTERNLOGQ, destructive: its first operand is its destination): adds a and b into
    /// acc bit by bit and returns the carry (majority of acc, a, b). The carry is computed from the new acc (where a ≠ b
    /// the old acc was ~new acc, where a = b the majority is a), so that its destination is a, which dies here:
    /// computing the majority from the old acc would need a register copy of acc per adder, an ALU instruction on Zen 4
    /// that costs as much as the adder.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Csa(ref Vector512<ulong> acc, Vector512<ulong> a, Vector512<ulong> b)
    {
        acc = Avx512F.TernaryLogic(acc, a, b, 0x96);
        return Avx512F.TernaryLogic(a, b, acc, 0xD4); // (a == b) ? a : ~acc
    }

    /// <summary><see cref="Csa"/>, or with <paramref name="fromOld"/> the carry as the majority of the old acc, a and b:
    /// one register copy of acc more, but the carry no longer waits for the new acc (Zen 4, two-pixel trees: ~3 % fewer
    /// cycles per block, docs/results/eval6).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Csa(ref Vector512<ulong> acc, Vector512<ulong> a, Vector512<ulong> b, bool fromOld)
    {
        if (!fromOld) return Csa(ref acc, a, b);
        var old = acc;
        acc = Avx512F.TernaryLogic(acc, a, b, 0x96);
        return Avx512F.TernaryLogic(a, b, old, 0xE8); // majority
    }

    /// <summary>patch word j (broadcast to the 8 lanes) XOR the 8 channels' weight words j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Xor<T>(ref T patch, ref T w, int j) where T : unmanaged =>
        (Vector512.Create(Unsafe.Add(ref patch, j)) ^ Vector512.LoadUnsafe(ref w, (nuint)(j * Vector512<T>.Count))).AsUInt64();

    /// <summary>Adds words 0..1 (a pair) into the ones counter; returns the carry at weight 2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Pair<T>(ref T patch, ref T w, int j, ref Vector512<ulong> ones) where T : unmanaged
    {
        var x0 = Xor<T>(ref patch, ref w, j);
        var x1 = Xor<T>(ref patch, ref w, j + 1);
        return Csa(ref ones, x0, x1);
    }

    /// <summary>Adds 4 words into ones / twos; returns the carry at weight 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Quad<T>(ref T patch, ref T w, int j, ref Vector512<ulong> ones, ref Vector512<ulong> twos) where T : unmanaged
    {
        var a = Pair<T>(ref patch, ref w, j, ref ones);
        var b = Pair<T>(ref patch, ref w, j + 2, ref ones);
        return Csa(ref twos, a, b);
    }

    /// <summary>Adds 8 words into ones / twos / fours; returns the carry at weight 8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Octet<T>(ref T patch, ref T w, int j, ref Vector512<ulong> ones, ref Vector512<ulong> twos, ref Vector512<ulong> fours) where T : unmanaged
    {
        var a = Quad<T>(ref patch, ref w, j, ref ones, ref twos);
        var b = Quad<T>(ref patch, ref w, j + 4, ref ones, ref twos);
        return Csa(ref fours, a, b);
    }

    /// <summary>P for the 8 channels of one lane group (weights [len][8]): a Harley–Seal carry-save tree over blocks of
    /// 16 patch words (15 VPTERNLOGQ pairs per block), so only one popcount per 16 words. The len mod 16 words left over
    /// go first (<see cref="Seed"/>), into the still-empty counters, so they cost no popcount; the first block's carry
    /// is kept as a weight-16 counter that <see cref="Finish"/> counts with the others (patches under 32 words — VGG7's
    /// 18-word conv2/conv3, VGG3's 9-word conv2 — need no sixteens popcount and one VPSADBW). Later blocks' carries are
    /// popcounted into byte sums that VPSADBW adds per lane. Pointer steps instead of indices keep the loop's scalar
    /// work small (the front end is shared with ~30 vector instructions per 8 words).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> GroupCounts<T>(ref T patch, ref T w, int len) where T : unmanaged
    {
        var lut = Lut;
        Vector512<ulong> ones = default, twos = default, fours = default, eights = default, s16 = default, total = default;
        var sixteens = Vector512<byte>.Zero; // byte counts of later blocks' carries (≤ 8 per pop), flushed before they can overflow
        int j = len & 15;
        if (j != 0)
        {
            Seed<T>(ref patch, ref w, len, ref ones, ref twos, ref fours, ref eights);
            patch = ref Unsafe.Add(ref patch, j);
            w = ref Unsafe.Add(ref w, j * Vector512<T>.Count);
        }
        int blocks = len >> 4;
        if (blocks > 0)
        {
            var a = Octet<T>(ref patch, ref w, 0, ref ones, ref twos, ref fours);
            var b = Octet<T>(ref patch, ref w, 8, ref ones, ref twos, ref fours);
            s16 = Csa(ref eights, a, b);
            patch = ref Unsafe.Add(ref patch, 16);
            w = ref Unsafe.Add(ref w, 16 * Vector512<T>.Count);
        }
        int pops = 0;
        for (blocks--; blocks > 0; blocks--)
        {
            var a = Octet<T>(ref patch, ref w, 0, ref ones, ref twos, ref fours);
            var b = Octet<T>(ref patch, ref w, 8, ref ones, ref twos, ref fours);
            sixteens += PopBytes(Csa(ref eights, a, b), lut);
            patch = ref Unsafe.Add(ref patch, 16);
            w = ref Unsafe.Add(ref w, 16 * Vector512<T>.Count);
            if (++pops == MaxPops)
            {
                total += SumBytes<T>(sixteens);
                sixteens = Vector512<byte>.Zero;
                pops = 0;
            }
        }
        return Finish<T>(ones, twos, fours, eights, s16, len >= 16, len >= 32, sixteens, total, lut);
    }

    /// <summary>The len mod 16 leftover words, added while the counters are all zero, smallest part first: the 1-word
    /// part is the ones counter itself; each part of 2^k words adds into the counters below 2^k, and its final carry
    /// (weight 2^k) becomes the 2^k counter, which no part has touched yet. So the tail costs only its own adders:
    /// no popcount, no half adders.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Seed<T>(ref T patch, ref T w, int len, ref Vector512<ulong> ones, ref Vector512<ulong> twos,
                     ref Vector512<ulong> fours, ref Vector512<ulong> eights) where T : unmanaged
    {
        int j = 0;
        if ((len & 1) != 0) { ones = Xor<T>(ref patch, ref w, 0); j = 1; }
        if ((len & 2) != 0) { twos = Pair<T>(ref patch, ref w, j, ref ones); j += 2; }
        if ((len & 4) != 0) { fours = Quad<T>(ref patch, ref w, j, ref ones, ref twos); j += 4; }
        if ((len & 8) != 0) eights = Octet<T>(ref patch, ref w, j, ref ones, ref twos, ref fours);
    }

    /// <summary>Popcounts of the sixteens' carries summed per byte before VPSADBW: 31 · 8 ≤ 255.</summary>
    const int MaxPops = 31;

    /// <summary>2^k · per-byte popcount of v (≤ 8·2^k, within the byte for k ≤ 4).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<byte> Weighted(Vector512<ulong> v, int k, Vector512<byte> lut) =>
        Vector512.ShiftLeft(PopBytes(v, lut).AsUInt16(), k).AsByte();

    /// <summary>The per-lane count from a tree's final state: ones + 2·twos + 4·fours + 8·eights + 16·s16 (per byte
    /// ≤ 8·31 = 248: one VPSADBW; s16 only for patches of 16 words or more, <paramref name="has16"/>), plus 16 · the
    /// later blocks' byte counts when there were any (<paramref name="more"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Finish(Vector512<ulong> ones, Vector512<ulong> twos, Vector512<ulong> fours, Vector512<ulong> eights,
                                   Vector512<ulong> s16, bool has16, bool more, Vector512<byte> sixteens, Vector512<ulong> total, Vector512<byte> lut) =>
        Finish<ulong>(ones, twos, fours, eights, s16, has16, more, sixteens, total, lut);

    /// <summary>Sum of the bytes of each T lane (VPSADBW for 64-bit lanes; VPMADDUBSW + VPMADDWD by ones for 32-bit
    /// lanes), as the ulong view of a Vector512&lt;T&gt;.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> SumBytes<T>(Vector512<byte> v) where T : unmanaged =>
        typeof(T) == typeof(uint)
            ? Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(v, Vector512.Create((sbyte)1)), Vector512.Create((short)1)).AsUInt64()
            : Avx512BW.SumAbsoluteDifferences(v, Vector512<byte>.Zero).AsUInt64();

    /// <summary><see cref="Finish"/> with the sums per T lane (ulong view; 32-bit lane counts stay far below 2^28, so
    /// the 64-bit shift and add below never carry across the 32-bit halves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> Finish<T>(Vector512<ulong> ones, Vector512<ulong> twos, Vector512<ulong> fours, Vector512<ulong> eights,
                                      Vector512<ulong> s16, bool has16, bool more, Vector512<byte> sixteens, Vector512<ulong> total, Vector512<byte> lut)
        where T : unmanaged
    {
        Vector512<byte> rest;
        if (Avx512Vbmi.IsSupported)
        {
            // VBMI: the low 7 bits of each counter through a table already scaled by its weight (no shift), and the top
            // bits of all five gathered into one byte (bit k = top bit of the 2^k counter) and added once.
            var top = (Avx512BW.ShiftRightLogical(ones.AsUInt16(), 7) & Vector512.Create((ushort)0x0101))
                      | (Avx512BW.ShiftRightLogical(twos.AsUInt16(), 6) & Vector512.Create((ushort)0x0202))
                      | (Avx512BW.ShiftRightLogical(fours.AsUInt16(), 5) & Vector512.Create((ushort)0x0404))
                      | (Avx512BW.ShiftRightLogical(eights.AsUInt16(), 4) & Vector512.Create((ushort)0x0808));
            rest = Avx512Vbmi.PermuteVar64x8x2(Pop7Low, ones.AsByte(), Pop7High)
                   + Avx512Vbmi.PermuteVar64x8x2(Pop7Low2, twos.AsByte(), Pop7High2)
                   + Avx512Vbmi.PermuteVar64x8x2(Pop7Low4, fours.AsByte(), Pop7High4)
                   + Avx512Vbmi.PermuteVar64x8x2(Pop7Low8, eights.AsByte(), Pop7High8);
            if (has16) // patches of 16 words or more; a branch the predictor learns per block
                rest += Avx512Vbmi.PermuteVar64x8x2(Pop7Low16, s16.AsByte(), Pop7High16)
                        + (Avx512BW.ShiftRightLogical(s16.AsUInt16(), 3) & Vector512.Create((ushort)0x1010)).AsByte();
            rest += top.AsByte();
        }
        else
        {
            rest = PopBytes(ones, lut) + Weighted(twos, 1, lut) + Weighted(fours, 2, lut) + Weighted(eights, 3, lut);
            if (has16) rest += Weighted(s16, 4, lut);
        }
        var count = SumBytes<T>(rest);
        if (more) count += (total + SumBytes<T>(sixteens)) << 4;
        return count;
    }

    /// <summary>Two patches' words j, j+1 against one load of the weights: the pairs' carries at weight 2. With
    /// <paramref name="xorPairs"/> the patches and weights hold word j+1 XORed with word j (<see cref="PairCsa"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Pair2<T>(ref T pa, ref T pb, ref T w, int j, ref Vector512<ulong> onesA, ref Vector512<ulong> onesB,
                      out Vector512<ulong> carryA, out Vector512<ulong> carryB, bool xorPairs) where T : unmanaged
    {
        var w0 = Vector512.LoadUnsafe(ref w, (nuint)(j * Vector512<T>.Count));
        var w1 = Vector512.LoadUnsafe(ref w, (nuint)((j + 1) * Vector512<T>.Count));
        if (xorPairs)
        {
            carryA = PairCsa(ref onesA, (Vector512.Create(Unsafe.Add(ref pa, j)) ^ w0).AsUInt64(), (Vector512.Create(Unsafe.Add(ref pa, j + 1)) ^ w1).AsUInt64());
            carryB = PairCsa(ref onesB, (Vector512.Create(Unsafe.Add(ref pb, j)) ^ w0).AsUInt64(), (Vector512.Create(Unsafe.Add(ref pb, j + 1)) ^ w1).AsUInt64());
            return;
        }
        carryA = Csa(ref onesA, (Vector512.Create(Unsafe.Add(ref pa, j)) ^ w0).AsUInt64(), (Vector512.Create(Unsafe.Add(ref pa, j + 1)) ^ w1).AsUInt64());
        carryB = Csa(ref onesB, (Vector512.Create(Unsafe.Add(ref pb, j)) ^ w0).AsUInt64(), (Vector512.Create(Unsafe.Add(ref pb, j + 1)) ^ w1).AsUInt64());
    }

    /// <summary>Carry-save adder of words x0 = p0 ^ w0 and x1 = p1 ^ w1 into acc, given x0 and d = x0 ^ x1, which is
    /// p01 ^ w01 with p01 = p0 ^ p1 (the patch's stored word j+1) and w01 = w0 ^ w1 (the weights' stored word j+1): one
    /// VPXORD with the broadcast patch word as its memory operand, like x0's. The carry, majority(acc, x0, x1), is acc
    /// where x0 ≠ x1 and x0 elsewhere; the new acc is acc ^ d. So the second word's XOR and the full adder's sum become
    /// one XOR each (4 vector instructions per pair, as the plain adder), but the carry no longer waits for the new acc
    /// and no broadcast or register copy is needed (measured on Zen 4: 58–59 instead of 66 cycles per 16-word block of
    /// two pixels, docs/results/eval6).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<ulong> PairCsa(ref Vector512<ulong> acc, Vector512<ulong> x0, Vector512<ulong> d)
    {
        var carry = Avx512F.TernaryLogic(x0, acc, d, 0xD8); // d ? acc : x0
        acc ^= d;
        return carry;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Quad2<T>(ref T pa, ref T pb, ref T w, int j, ref Vector512<ulong> onesA, ref Vector512<ulong> onesB,
                      ref Vector512<ulong> twosA, ref Vector512<ulong> twosB, out Vector512<ulong> carryA, out Vector512<ulong> carryB, bool xorPairs) where T : unmanaged
    {
        Pair2<T>(ref pa, ref pb, ref w, j, ref onesA, ref onesB, out var a0, out var b0, xorPairs);
        Pair2<T>(ref pa, ref pb, ref w, j + 2, ref onesA, ref onesB, out var a1, out var b1, xorPairs);
        carryA = Csa(ref twosA, a0, a1, xorPairs);
        carryB = Csa(ref twosB, b0, b1, xorPairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Octet2<T>(ref T pa, ref T pb, ref T w, int j, ref Vector512<ulong> onesA, ref Vector512<ulong> onesB,
                       ref Vector512<ulong> twosA, ref Vector512<ulong> twosB, ref Vector512<ulong> foursA, ref Vector512<ulong> foursB,
                       out Vector512<ulong> carryA, out Vector512<ulong> carryB, bool xorPairs) where T : unmanaged
    {
        Quad2<T>(ref pa, ref pb, ref w, j, ref onesA, ref onesB, ref twosA, ref twosB, out var a0, out var b0, xorPairs);
        Quad2<T>(ref pa, ref pb, ref w, j + 4, ref onesA, ref onesB, ref twosA, ref twosB, out var a1, out var b1, xorPairs);
        carryA = Csa(ref foursA, a0, a1, xorPairs);
        carryB = Csa(ref foursB, b0, b1, xorPairs);
    }

    /// <summary>As <see cref="GroupCounts"/> for two patches (two output pixels) at once: each weight vector is loaded
    /// once for both. T = ulong: 8 channels of 64-bit words per vector; T = uint: 16 channels of 32-bit half-words
    /// (twice the tree length, one epilogue per 16 channels instead of per 8: the epilogue is ~1/3 of a short patch's
    /// instructions). The tree itself is bitwise, so only the broadcast width and the final byte sums differ. The weights of a deep layer (VGG7's last convs: 150–300 KB) live in L2, whose bandwidth (one
    /// 64-byte line per ~2 cycles) and not the ALUs bounded the one-pixel loop; two trees per load halve that traffic.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void GroupCounts2<T>(ref T pa, ref T pb, ref T w, int len, out Vector512<ulong> countA, out Vector512<ulong> countB, bool xorPairs = false) where T : unmanaged
    {
        var lut = Lut;
        Vector512<ulong> onesA = default, twosA = default, foursA = default, eightsA = default, s16A = default, totalA = default;
        Vector512<ulong> onesB = default, twosB = default, foursB = default, eightsB = default, s16B = default, totalB = default;
        Vector512<byte> sixA = default, sixB = default;
        int j = len & 15;
        if (j != 0)
        {
            Seed2<T>(ref pa, ref pb, ref w, len, ref onesA, ref onesB, ref twosA, ref twosB, ref foursA, ref foursB, ref eightsA, ref eightsB, xorPairs);
            pa = ref Unsafe.Add(ref pa, j);
            pb = ref Unsafe.Add(ref pb, j);
            w = ref Unsafe.Add(ref w, j * Vector512<T>.Count);
        }
        int blocks = len >> 4;
        if (blocks > 0) // the first block's carries stay counters of weight 16 (see GroupCounts)
        {
            Octet2<T>(ref pa, ref pb, ref w, 0, ref onesA, ref onesB, ref twosA, ref twosB, ref foursA, ref foursB, out var a0, out var b0, xorPairs);
            Octet2<T>(ref pa, ref pb, ref w, 8, ref onesA, ref onesB, ref twosA, ref twosB, ref foursA, ref foursB, out var a1, out var b1, xorPairs);
            s16A = Csa(ref eightsA, a0, a1, xorPairs);
            s16B = Csa(ref eightsB, b0, b1, xorPairs);
            pa = ref Unsafe.Add(ref pa, 16);
            pb = ref Unsafe.Add(ref pb, 16);
            w = ref Unsafe.Add(ref w, 16 * Vector512<T>.Count);
        }
        int pops = 0;
        for (blocks--; blocks > 0; blocks--)
        {
            Octet2<T>(ref pa, ref pb, ref w, 0, ref onesA, ref onesB, ref twosA, ref twosB, ref foursA, ref foursB, out var a0, out var b0, xorPairs);
            Octet2<T>(ref pa, ref pb, ref w, 8, ref onesA, ref onesB, ref twosA, ref twosB, ref foursA, ref foursB, out var a1, out var b1, xorPairs);
            sixA += PopBytes(Csa(ref eightsA, a0, a1, xorPairs), lut);
            sixB += PopBytes(Csa(ref eightsB, b0, b1, xorPairs), lut);
            pa = ref Unsafe.Add(ref pa, 16);
            pb = ref Unsafe.Add(ref pb, 16);
            w = ref Unsafe.Add(ref w, 16 * Vector512<T>.Count);
            if (++pops == MaxPops)
            {
                totalA += SumBytes<T>(sixA);
                totalB += SumBytes<T>(sixB);
                sixA = sixB = Vector512<byte>.Zero;
                pops = 0;
            }
        }
        countA = Finish<T>(onesA, twosA, foursA, eightsA, s16A, len >= 16, len >= 32, sixA, totalA, lut);
        countB = Finish<T>(onesB, twosB, foursB, eightsB, s16B, len >= 16, len >= 32, sixB, totalB, lut);
    }

    /// <summary><see cref="Seed"/> for two patches sharing the weight loads.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Seed2<T>(ref T pa, ref T pb, ref T w, int len, ref Vector512<ulong> onesA, ref Vector512<ulong> onesB,
                      ref Vector512<ulong> twosA, ref Vector512<ulong> twosB, ref Vector512<ulong> foursA, ref Vector512<ulong> foursB,
                      ref Vector512<ulong> eightsA, ref Vector512<ulong> eightsB, bool xorPairs) where T : unmanaged
    {
        int j = 0;
        if ((len & 1) != 0)
        {
            var w0 = Vector512.LoadUnsafe(ref w);
            onesA = (Vector512.Create(pa) ^ w0).AsUInt64();
            onesB = (Vector512.Create(pb) ^ w0).AsUInt64();
            j = 1;
        }
        if ((len & 2) != 0)
        {
            Pair2<T>(ref pa, ref pb, ref w, j, ref onesA, ref onesB, out twosA, out twosB, xorPairs);
            j += 2;
        }
        if ((len & 4) != 0)
        {
            Quad2<T>(ref pa, ref pb, ref w, j, ref onesA, ref onesB, ref twosA, ref twosB, out foursA, out foursB, xorPairs);
            j += 4;
        }
        if ((len & 8) != 0)
            Octet2<T>(ref pa, ref pb, ref w, j, ref onesA, ref onesB, ref twosA, ref twosB, ref foursA, ref foursB, out eightsA, out eightsB, xorPairs);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong BinaryWord2(CpuBlockData d, ref ulong patchA, ref ulong patchB, int word, int clsA, int clsB, out ulong bitsB)
    {
        if (d.HalfLaneWeights.Length > 0) return BinaryWord2Half(d, ref patchA, ref patchB, word, clsA, clsB, out bitsB);
        int g0 = word * 8, groups = Math.Min(8, (d.Block.OutChannels - word * 64 + 7) >> 3), len = d.PatchLength;
        ref ulong w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.LaneWeights), (nint)g0 * len * 8);
        ref ulong lo = ref MemoryMarshal.GetArrayDataReference(d.Lo);
        ref ulong span = ref MemoryMarshal.GetArrayDataReference(d.Span);
        nint a = clsA * d.PaddedK + word * 64, b = clsB * d.PaddedK + word * 64;
        ulong bitsA = 0;
        bitsB = 0;
        for (int g = 0; g < groups; g++)
        {
            GroupCounts2<ulong>(ref patchA, ref patchB, ref Unsafe.Add(ref w, (nint)g * len * 8), len, out var pa, out var pb);
            bitsA |= Vector512.LessThanOrEqual(pa - Vector512.LoadUnsafe(ref lo, (nuint)(a + g * 8)), Vector512.LoadUnsafe(ref span, (nuint)(a + g * 8)))
                .ExtractMostSignificantBits() << (8 * g);
            bitsB |= Vector512.LessThanOrEqual(pb - Vector512.LoadUnsafe(ref lo, (nuint)(b + g * 8)), Vector512.LoadUnsafe(ref span, (nuint)(b + g * 8)))
                .ExtractMostSignificantBits() << (8 * g);
        }
        return bitsA;
    }

    /// <summary><see cref="BinaryWord2"/> with 16 channels per tree over the patches' 32-bit half-words
    /// (<see cref="CpuBlockData.HalfLaneWeights"/>). Half-words pair up as the two halves of each 64-bit word (the tree
    /// length 2·PatchLength is even, so no pair straddles the seed); weights and patches store each pair's second half
    /// XORed with its first (<see cref="CpuBlockData.PairXorPatches"/>), which <see cref="PairCsa"/> needs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong BinaryWord2Half(CpuBlockData d, ref ulong patchA, ref ulong patchB, int word, int clsA, int clsB, out ulong bitsB)
    {
        int groups = Math.Min(4, (d.Block.OutChannels - word * 64 + 15) >> 4), len = 2 * d.PatchLength;
        ref uint w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.HalfLaneWeights), (nint)word * 4 * len * 16);
        ref uint lo = ref MemoryMarshal.GetArrayDataReference(d.Lo32);
        ref uint span = ref MemoryMarshal.GetArrayDataReference(d.Span32);
        ref uint pa32 = ref Unsafe.As<ulong, uint>(ref patchA);
        ref uint pb32 = ref Unsafe.As<ulong, uint>(ref patchB);
        nint a = clsA * d.PaddedK + word * 64, b = clsB * d.PaddedK + word * 64;
        ulong bitsA = 0;
        bitsB = 0;
        for (int g = 0; g < groups; g++)
        {
            GroupCounts2<uint>(ref pa32, ref pb32, ref Unsafe.Add(ref w, (nint)g * len * 16), len, out var pa, out var pb, xorPairs: true);
            bitsA |= (ulong)Vector512.LessThanOrEqual(pa.AsUInt32() - Vector512.LoadUnsafe(ref lo, (nuint)(a + g * 16)), Vector512.LoadUnsafe(ref span, (nuint)(a + g * 16)))
                .ExtractMostSignificantBits() << (16 * g);
            bitsB |= (ulong)Vector512.LessThanOrEqual(pb.AsUInt32() - Vector512.LoadUnsafe(ref lo, (nuint)(b + g * 16)), Vector512.LoadUnsafe(ref span, (nuint)(b + g * 16)))
                .ExtractMostSignificantBits() << (16 * g);
        }
        return bitsA;
    }

    /// <summary>Word <paramref name="word"/> of the 2·<paramref name="pairs"/> pair-XOR patches gathered in
    /// <paramref name="s"/> (<see cref="CpuPairRows"/>) into <see cref="CpuScratch.PairBits"/>: group-major, so each
    /// 16-channel group's weights are loaded from L1 by all the pairs (<see cref="BinaryWord2Half"/>'s tree per pair).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BinaryWordPairs(CpuBlockData d, CpuScratch s, int pairs, int word)
    {
        int groups = Math.Min(4, (d.Block.OutChannels - word * 64 + 15) >> 4), len = 2 * d.PatchLength, stride = s.PairStride;
        ref uint w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.HalfLaneWeights), (nint)word * 4 * len * 16);
        ref uint lo = ref MemoryMarshal.GetArrayDataReference(d.Lo32);
        ref uint span = ref MemoryMarshal.GetArrayDataReference(d.Span32);
        ref ulong patches = ref MemoryMarshal.GetArrayDataReference(s.PairPatches);
        ref int classes = ref MemoryMarshal.GetArrayDataReference(s.PairClasses);
        ref ulong bits = ref MemoryMarshal.GetArrayDataReference(s.PairBits);
        for (int i = 0; i < 2 * pairs; i++) Unsafe.Add(ref bits, i) = 0;
        for (int g = 0; g < groups; g++)
        {
            ref uint wg = ref Unsafe.Add(ref w, (nint)g * len * 16);
            int t0 = word * 64 + g * 16;
            for (int i = 0; i < pairs; i++)
            {
                ref uint pa = ref Unsafe.As<ulong, uint>(ref Unsafe.Add(ref patches, (nint)(2 * i) * stride));
                ref uint pb = ref Unsafe.As<ulong, uint>(ref Unsafe.Add(ref patches, (nint)(2 * i + 1) * stride));
                GroupCounts2<uint>(ref pa, ref pb, ref wg, len, out var ca, out var cb, xorPairs: true);
                nint a = Unsafe.Add(ref classes, 2 * i) * d.PaddedK + t0, b = Unsafe.Add(ref classes, 2 * i + 1) * d.PaddedK + t0;
                Unsafe.Add(ref bits, 2 * i) |= (ulong)Vector512.LessThanOrEqual(ca.AsUInt32() - Vector512.LoadUnsafe(ref lo, (nuint)a), Vector512.LoadUnsafe(ref span, (nuint)a))
                    .ExtractMostSignificantBits() << (16 * g);
                Unsafe.Add(ref bits, 2 * i + 1) |= (ulong)Vector512.LessThanOrEqual(cb.AsUInt32() - Vector512.LoadUnsafe(ref lo, (nuint)b), Vector512.LoadUnsafe(ref span, (nuint)b))
                    .ExtractMostSignificantBits() << (16 * g);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong BinaryWord(CpuBlockData d, ref ulong patch, int word, int cls)
    {
        int g0 = word * 8, groups = Math.Min(8, (d.Block.OutChannels - word * 64 + 7) >> 3), len = d.PatchLength;
        ref ulong w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.LaneWeights), (nint)g0 * len * 8);
        ref ulong lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Lo), cls * d.PaddedK + word * 64);
        ref ulong span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.Span), cls * d.PaddedK + word * 64);
        ulong bits = 0;
        for (int g = 0; g < groups; g++)
        {
            var p = GroupCounts<ulong>(ref patch, ref Unsafe.Add(ref w, (nint)g * len * 8), len);
            var fire = Vector512.LessThanOrEqual(p - Vector512.LoadUnsafe(ref lo, (nuint)g * 8), Vector512.LoadUnsafe(ref span, (nuint)g * 8));
            bits |= fire.ExtractMostSignificantBits() << (8 * g);
        }
        return bits;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BinaryCounts(CpuBlockData d, ref ulong patch, int word, Span<ulong> counts)
    {
        int g0 = word * 8, groups = Math.Min(8, (d.Block.OutChannels - word * 64 + 7) >> 3), len = d.PatchLength;
        ref ulong w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.LaneWeights), (nint)g0 * len * 8);
        for (int g = 0; g < groups; g++)
            GroupCounts<ulong>(ref patch, ref Unsafe.Add(ref w, (nint)g * len * 8), len).CopyTo(counts[(g * 8)..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong ImageWord(CpuBlockData d, ref byte patch, int word, int cls)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), pairs = d.PatchLength / 2;
        ref ushort pixels = ref Unsafe.As<byte, ushort>(ref patch);
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ImageLaneWeights), (nint)word * 2 * pairs * 64);
        ref uint lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumLo), cls * d.PaddedK + word * 64);
        ref uint span = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumSpan), cls * d.PaddedK + word * 64);
        if (groups == 2 && d.HasSums16)
        {
            WordSums(ref pixels, ref w, pairs, out var a, out var b);
            nint t = cls * d.PaddedK + word * 64;
            return Fire16(a, d, t) | Fire16(b, d, t + 32) << 32;
        }
        if (groups == 2 && pairs <= 64)
        {
            WordSums(ref pixels, ref w, pairs, out var a, out var b);
            return Fire(Vector512.WidenLower(a), ref lo, ref span, 0) | Fire(Vector512.WidenUpper(a), ref lo, ref span, 1) << 16
                   | Fire(Vector512.WidenLower(b), ref lo, ref span, 2) << 32 | Fire(Vector512.WidenUpper(b), ref lo, ref span, 3) << 48;
        }
        ulong bits = 0;
        for (int g = 0; g < groups; g++)
        {
            ref sbyte wg = ref Unsafe.Add(ref w, (nint)g * pairs * 64);
            var (low, high) = GroupSums(ref pixels, ref wg, pairs);
            bits |= (Fire(low, ref lo, ref span, 2 * g) | Fire(high, ref lo, ref span, 2 * g + 1) << 16) << (32 * g);
        }
        return bits;
    }

    /// <summary>Two pixels of an image layer whose sums fit int16 (<see cref="CpuBlockData.HasSums16"/>), 64 channels:
    /// each weight vector loaded once for both pixels and each broadcast pixel pair feeding two VPMADDUBSW, four
    /// independent accumulator chains, and the thresholds tested on the int16 sums (no widening): VGG3's first layer
    /// (5 pixel pairs per patch) spent more on the epilogue and loop than on its 10 multiply-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong ImageWord2(CpuBlockData d, ref byte patchA, ref byte patchB, int word, int clsA, int clsB, out ulong bitsB)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), pairs = d.PatchLength / 2;
        if (groups < 2 || !d.HasSums16)
        {
            bitsB = ImageWord(d, ref patchB, word, clsB);
            return ImageWord(d, ref patchA, word, clsA);
        }
        ref ushort pixA = ref Unsafe.As<byte, ushort>(ref patchA);
        ref ushort pixB = ref Unsafe.As<byte, ushort>(ref patchB);
        ref sbyte wa = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ImageLaneWeights), (nint)word * 2 * pairs * 64);
        ref sbyte wb = ref Unsafe.Add(ref wa, (nint)pairs * 64);
        Vector512<short> aa = default, ab = default, ba = default, bb = default;
        for (int t = 0; t < pairs; t++)
        {
            var w0 = Vector512.LoadUnsafe(ref wa, (nuint)t * 64);
            var w1 = Vector512.LoadUnsafe(ref wb, (nuint)t * 64);
            var pa = Vector512.Create(Unsafe.Add(ref pixA, t)).AsByte();
            var pb = Vector512.Create(Unsafe.Add(ref pixB, t)).AsByte();
            aa += Avx512BW.MultiplyAddAdjacent(pa, w0);
            ab += Avx512BW.MultiplyAddAdjacent(pa, w1);
            ba += Avx512BW.MultiplyAddAdjacent(pb, w0);
            bb += Avx512BW.MultiplyAddAdjacent(pb, w1);
        }
        nint ta = clsA * d.PaddedK + word * 64, tb = clsB * d.PaddedK + word * 64;
        bitsB = Fire16(ba, d, tb) | Fire16(bb, d, tb + 32) << 32;
        return Fire16(aa, d, ta) | Fire16(ab, d, ta + 32) << 32;
    }

    /// <summary><see cref="ImageWord2"/> for two interior pixels read straight from the sample: each pixel pair of a
    /// patch composed in a register (one 16-bit load where its bytes are neighbours in the image, as 3 of the 5 pairs
    /// of VGG3's 1-channel 3×3 layer are) and broadcast, with no gathered copy: for such a small layer the gather and
    /// the region loop around it cost twice the multiply-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong ImageWord2Interior(CpuBlockData d, ref byte from, int step, int word, int clsA, int clsB, out ulong bitsB)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), pairs = d.PatchLength / 2;
        if (groups < 2 || !d.HasSums16)
        {
            Span<byte> a = stackalloc byte[d.PatchLength], b = stackalloc byte[d.PatchLength];
            CpuBlockKernels.ComposeInterior(d, ref from, step, ref MemoryMarshal.GetReference(a), ref MemoryMarshal.GetReference(b));
            bitsB = ImageWord(d, ref MemoryMarshal.GetReference(b), word, clsB);
            return ImageWord(d, ref MemoryMarshal.GetReference(a), word, clsA);
        }
        ref int off = ref MemoryMarshal.GetArrayDataReference(d.PixelOffsets);
        ref sbyte wa = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ImageLaneWeights), (nint)word * 2 * pairs * 64);
        ref sbyte wb = ref Unsafe.Add(ref wa, (nint)pairs * 64);
        ref byte fromB = ref Unsafe.Add(ref from, step);
        Vector512<short> aa = default, ab = default, ba = default, bb = default;
        for (int t = 0; t < pairs; t++)
        {
            int o0 = Unsafe.Add(ref off, 2 * t), o1 = Unsafe.Add(ref off, 2 * t + 1);
            ushort va, vb;
            if (o1 == o0 + 1)
            {
                va = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref from, o0));
                vb = Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref fromB, o0));
            }
            else if (o1 < 0)
            {
                va = Unsafe.Add(ref from, o0);
                vb = Unsafe.Add(ref fromB, o0);
            }
            else
            {
                va = (ushort)(Unsafe.Add(ref from, o0) | Unsafe.Add(ref from, o1) << 8);
                vb = (ushort)(Unsafe.Add(ref fromB, o0) | Unsafe.Add(ref fromB, o1) << 8);
            }
            var w0 = Vector512.LoadUnsafe(ref wa, (nuint)t * 64);
            var w1 = Vector512.LoadUnsafe(ref wb, (nuint)t * 64);
            var pa = Vector512.Create(va).AsByte();
            var pb = Vector512.Create(vb).AsByte();
            aa += Avx512BW.MultiplyAddAdjacent(pa, w0);
            ab += Avx512BW.MultiplyAddAdjacent(pa, w1);
            ba += Avx512BW.MultiplyAddAdjacent(pb, w0);
            bb += Avx512BW.MultiplyAddAdjacent(pb, w1);
        }
        nint ta = clsA * d.PaddedK + word * 64, tb = clsB * d.PaddedK + word * 64;
        bitsB = Fire16(ba, d, tb) | Fire16(bb, d, tb + 32) << 32;
        return Fire16(aa, d, ta) | Fire16(ab, d, ta + 32) << 32;
    }

    /// <summary>Threshold bits of 32 int16 channel sums against the 16-bit tables from entry t on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Fire16(Vector512<short> sums, CpuBlockData d, nint t) =>
        Vector512.LessThanOrEqual(sums.AsUInt16() - Vector512.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumLo16), t)),
                                  Vector512.LoadUnsafe(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.SumSpan16), t)))
            .ExtractMostSignificantBits();

    /// <summary>The int16 sums of both lane groups of a word (64 channels: a = channels 0..31, b = 32..63; group b's
    /// weights follow group a's) over at most 64 pixel pairs (|sum| ≤ 64·510 = 32640): each broadcast pixel pair feeds
    /// two VPMADDUBSW, so a small patch (VGG's 3×3 first layers: 5 pairs per channel) pays its loop and broadcast once
    /// per 64 channels instead of once per 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void WordSums(ref ushort pixels, ref sbyte wa, int pairs, out Vector512<short> a, out Vector512<short> b)
    {
        ref sbyte wb = ref Unsafe.Add(ref wa, (nint)pairs * 64);
        if (pairs == 5) // a 3×3 kernel's plane (VGG's first layers): straight-line, no loop counter or index arithmetic
        {
            var p0 = Vector512.Create(pixels).AsByte();
            var p1 = Vector512.Create(Unsafe.Add(ref pixels, 1)).AsByte();
            var p2 = Vector512.Create(Unsafe.Add(ref pixels, 2)).AsByte();
            var p3 = Vector512.Create(Unsafe.Add(ref pixels, 3)).AsByte();
            var p4 = Vector512.Create(Unsafe.Add(ref pixels, 4)).AsByte();
            a = Avx512BW.MultiplyAddAdjacent(p0, Vector512.LoadUnsafe(ref wa)) + Avx512BW.MultiplyAddAdjacent(p1, Vector512.LoadUnsafe(ref wa, 64))
                + (Avx512BW.MultiplyAddAdjacent(p2, Vector512.LoadUnsafe(ref wa, 128)) + Avx512BW.MultiplyAddAdjacent(p3, Vector512.LoadUnsafe(ref wa, 192)))
                + Avx512BW.MultiplyAddAdjacent(p4, Vector512.LoadUnsafe(ref wa, 256));
            b = Avx512BW.MultiplyAddAdjacent(p0, Vector512.LoadUnsafe(ref wb)) + Avx512BW.MultiplyAddAdjacent(p1, Vector512.LoadUnsafe(ref wb, 64))
                + (Avx512BW.MultiplyAddAdjacent(p2, Vector512.LoadUnsafe(ref wb, 128)) + Avx512BW.MultiplyAddAdjacent(p3, Vector512.LoadUnsafe(ref wb, 192)))
                + Avx512BW.MultiplyAddAdjacent(p4, Vector512.LoadUnsafe(ref wb, 256));
            return;
        }
        a = default;
        b = default;
        for (int t = 0; t < pairs; t++)
        {
            var p = Vector512.Create(Unsafe.Add(ref pixels, t)).AsByte();
            a += Avx512BW.MultiplyAddAdjacent(p, Vector512.LoadUnsafe(ref wa, (nuint)t * 64));
            b += Avx512BW.MultiplyAddAdjacent(p, Vector512.LoadUnsafe(ref wb, (nuint)t * 64));
        }
    }

    /// <summary>int16 channels 8·k … 8·k + 7 of <paramref name="v"/> widened to int64 (VPMOVSXWQ).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<long> Wide(Vector512<short> v, byte k) => Avx512F.ConvertToVector512Int64(Avx512F.ExtractVector128(v, k));

    /// <summary>The 32 channel sums of one lane group (channels 0..15 in low, 16..31 in high): int16 sums of up to
    /// 64 pixel pairs stay within ±32640; then they are widened into the int32 sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static (Vector512<int> Low, Vector512<int> High) GroupSums(ref ushort pixels, ref sbyte wg, int pairs)
    {
        Vector512<int> low = default, high = default;
        for (int t0 = 0; t0 < pairs; t0 += 64)
        {
            int t1 = Math.Min(pairs, t0 + 64);
            var acc = Vector512<short>.Zero;
            for (int t = t0; t < t1; t++)
                acc += Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref pixels, t)).AsByte(), Vector512.LoadUnsafe(ref wg, (nuint)t * 64));
            low += Vector512.WidenLower(acc);
            high += Vector512.WidenUpper(acc);
        }
        return (low, high);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ImageSums(CpuBlockData d, ref byte patch, int word, int set, Span<int> sums)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), pairs = d.ChannelPatchLength / 2;
        ref ushort pixels = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref patch, set * d.ChannelPatchLength));
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ChannelImageWeights), (nint)set * d.ImageSetLength + (nint)word * 2 * pairs * 64);
        for (int g = 0; g < groups; g++)
        {
            var (low, high) = GroupSums(ref pixels, ref Unsafe.Add(ref w, (nint)g * pairs * 64), pairs);
            low.CopyTo(sums[(g * 32)..]);
            high.CopyTo(sums[(g * 32 + 16)..]);
        }
    }

    /// <summary>Per-channel divisors, fused: per lane group of 32 channels, each input channel's int16 sums over its
    /// plane of the patch (VPMADDUBSW), widened to 64 bits and multiplied by q_c (VPMULLQ), accumulated into P and
    /// compared with [WideLo, WideHi] 8 channels per vector: no scalar epilogue, no sums stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static ulong ImageChannelWord(CpuBlockData d, ref byte patch, int word, int cls) =>
        TryNarrowChannelWord(d, ref patch, word, cls, out ulong decided) ? decided : ExactChannelWord(d, ref patch, word, cls);

    /// <summary>The word from the 32-bit filter (<see cref="NarrowChannelSums"/>) when it decides every channel; false
    /// when the block has no filter or a channel lies too near its threshold.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryNarrowChannelWord(CpuBlockData d, ref byte patch, int word, int cls, out ulong bits)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), plane = d.ChannelPatchLength, pairs = plane / 2;
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ChannelImageWeights), (nint)word * 2 * pairs * 64);
        if (groups == 2 && pairs <= 64 && Bmi2.X64.IsSupported && d.Narrow is { } narrow)
            return NarrowWord(d, narrow, ref patch, ref w, plane, pairs, cls * d.PaddedK + word * 64, out bits);
        bits = 0;
        return false;
    }

    /// <summary>The exact test: P = Σ_c q_c·S_c in 64-bit against [WideLo, WideHi].</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    internal static ulong ExactChannelWord(CpuBlockData d, ref byte patch, int word, int cls)
    {
        int groups = Math.Min(2, (d.Block.OutChannels - word * 64 + 31) >> 5), plane = d.ChannelPatchLength, pairs = plane / 2;
        var q = d.Multipliers;
        ref sbyte w = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.ChannelImageWeights), (nint)word * 2 * pairs * 64);
        ref long lo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.WideLo), cls * d.PaddedK + word * 64);
        ref long hi = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(d.WideHi), cls * d.PaddedK + word * 64);
        if (groups == 2 && pairs <= 64)
        {
            Vector512<long> p0 = default, p1 = default, p2 = default, p3 = default, p4 = default, p5 = default, p6 = default, p7 = default;
            for (int c = 0; c < q.Length; c++)
            {
                WordSums(ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref patch, c * plane)), ref Unsafe.Add(ref w, (nint)c * d.ImageSetLength), pairs, out var a, out var b);
                var qc = Vector512.Create(q[c]);
                p0 += Wide(a, 0) * qc; p1 += Wide(a, 1) * qc; p2 += Wide(a, 2) * qc; p3 += Wide(a, 3) * qc;
                p4 += Wide(b, 0) * qc; p5 += Wide(b, 1) * qc; p6 += Wide(b, 2) * qc; p7 += Wide(b, 3) * qc;
            }
            return InRange(p0, ref lo, ref hi, 0) | InRange(p1, ref lo, ref hi, 1) << 8 | InRange(p2, ref lo, ref hi, 2) << 16
                   | InRange(p3, ref lo, ref hi, 3) << 24 | InRange(p4, ref lo, ref hi, 4) << 32 | InRange(p5, ref lo, ref hi, 5) << 40
                   | InRange(p6, ref lo, ref hi, 6) << 48 | InRange(p7, ref lo, ref hi, 7) << 56;
        }
        ulong bits = 0;
        for (int g = 0; g < groups; g++)
        {
            Vector512<long> p0 = default, p1 = default, p2 = default, p3 = default;
            for (int c = 0; c < q.Length; c++)
            {
                ref ushort pixels = ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref patch, c * plane));
                var (low, high) = GroupSums(ref pixels, ref Unsafe.Add(ref w, (nint)c * d.ImageSetLength + (nint)g * pairs * 64), pairs);
                var qc = Vector512.Create(q[c]);
                p0 += Vector512.WidenLower(low) * qc;
                p1 += Vector512.WidenUpper(low) * qc;
                p2 += Vector512.WidenLower(high) * qc;
                p3 += Vector512.WidenUpper(high) * qc;
            }
            bits |= (InRange(p0, ref lo, ref hi, 4 * g) | InRange(p1, ref lo, ref hi, 4 * g + 1) << 8
                     | InRange(p2, ref lo, ref hi, 4 * g + 2) << 16 | InRange(p3, ref lo, ref hi, 4 * g + 3) << 24) << (32 * g);
        }
        return bits;
    }

    /// <summary>The 32-bit filter (<see cref="NarrowChannelSums"/>): P' = Σ_c q'_c·S_c by one VPMADDWD per pair of input
    /// channels on their interleaved int16 sums, tested against the sure and the possible range of every channel.
    /// False when a channel's P lies too near its threshold to decide on P' (the caller then runs the exact test).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static bool NarrowWord(CpuBlockData d, NarrowChannelSums narrow, ref byte patch, ref sbyte w, int plane, int pairs, nint t, out ulong bits)
    {
        int channels = d.Multipliers.Length;
        Vector512<int> p0 = default, p1 = default, p2 = default, p3 = default;
        for (int c = 0; c < channels; c += 2)
        {
            WordSums(ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref patch, c * plane)), ref Unsafe.Add(ref w, (nint)c * d.ImageSetLength), pairs, out var a0, out var b0);
            Vector512<short> a1 = default, b1 = default;
            if (c + 1 < channels)
                WordSums(ref Unsafe.As<byte, ushort>(ref Unsafe.Add(ref patch, (c + 1) * plane)), ref Unsafe.Add(ref w, (nint)(c + 1) * d.ImageSetLength), pairs, out a1, out b1);
            var q = Vector512.Create(narrow.PairMultipliers[c >> 1]).AsInt16();
            p0 += Avx512BW.MultiplyAddAdjacent(Avx512BW.UnpackLow(a0, a1), q);
            p1 += Avx512BW.MultiplyAddAdjacent(Avx512BW.UnpackHigh(a0, a1), q);
            p2 += Avx512BW.MultiplyAddAdjacent(Avx512BW.UnpackLow(b0, b1), q);
            p3 += Avx512BW.MultiplyAddAdjacent(Avx512BW.UnpackHigh(b0, b1), q);
        }
        ref int inLo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(narrow.InLo), t);
        ref uint inSpan = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(narrow.InSpan), t);
        ref int maybeLo = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(narrow.MaybeLo), t);
        ref uint maybeSpan = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(narrow.MaybeSpan), t);
        ulong sure = Within(p0, ref inLo, ref inSpan, 0) | Within(p2, ref inLo, ref inSpan, 2) << 16
                     | Within(p1, ref inLo, ref inSpan, 1) << 32 | Within(p3, ref inLo, ref inSpan, 3) << 48;
        ulong maybe = Within(p0, ref maybeLo, ref maybeSpan, 0) | Within(p2, ref maybeLo, ref maybeSpan, 2) << 16
                      | Within(p1, ref maybeLo, ref maybeSpan, 1) << 32 | Within(p3, ref maybeLo, ref maybeSpan, 3) << 48;
        // lane j of the low unpacks is channel 8·(j/4) + j%4 (+32 for the second group): the 0x0F nibbles, in order;
        // the high unpacks' lanes are the 0xF0 nibbles
        bits = Bmi2.X64.ParallelBitDeposit(sure, 0x0F0F0F0F_0F0F0F0FUL) | Bmi2.X64.ParallelBitDeposit(sure >> 32, 0xF0F0F0F0_F0F0F0F0UL);
        return sure == maybe;
    }

    /// <summary>Bits of the 16 lanes of int32 vector v whose P' lies in its range: (uint)(P' − lo) ≤ span.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Within(Vector512<int> p, ref int lo, ref uint span, int v) =>
        Vector512.LessThanOrEqual((p - Vector512.LoadUnsafe(ref lo, (nuint)v * 16)).AsUInt32(), Vector512.LoadUnsafe(ref span, (nuint)v * 16))
            .ExtractMostSignificantBits();

    /// <summary>Bits of the 8 channels 8·i … of the word whose P lies in [lo, hi].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong InRange(Vector512<long> p, ref long lo, ref long hi, int i) =>
        (Vector512.GreaterThanOrEqual(p, Vector512.LoadUnsafe(ref lo, (nuint)i * 8)) & Vector512.LessThanOrEqual(p, Vector512.LoadUnsafe(ref hi, (nuint)i * 8)))
            .ExtractMostSignificantBits();

    /// <summary>Threshold bits of 16 channel sums (channels 16·i … of the word).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ulong Fire(Vector512<int> sums, ref uint lo, ref uint span, int i) =>
        Vector512.LessThanOrEqual(sums.AsUInt32() - Vector512.LoadUnsafe(ref lo, (nuint)i * 16), Vector512.LoadUnsafe(ref span, (nuint)i * 16))
            .ExtractMostSignificantBits();
}
