using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>Two adjacent n-tiles' B fragments of one lane (channels 8·(2q) + g and 8·(2q+1) + g): one 16-byte load.</summary>
public struct FragmentPair
{
    public ulong Lo, Hi;
}

/// <summary>
/// The 2m warp product (32 rows × 64 channels, see <see cref="GpuTensorCoreWide2M"/>) with 64-bit A and 128-bit B loads:
/// per step 4 shared loads of 8 bytes instead of 8 of 4, and 4 global loads of 16 bytes instead of 8 of 8. The MMA sums
/// popc(a ∧ b) over the 256 bits of a step whatever their order, as long as A and B list them in the same order, so lane
/// (g, t) passes as its registers a0/a2 the 32-bit units 2t and 2t+1 of the step (one 64-bit stage word, 4s + t) instead
/// of units t and 4+t, and its B fragment is then simply the channel's weight word 4s + t (b0 its low half, b1 its high
/// half), arranged at set-up as [tile][step][pair q][lane][n-tile 2q, 2q+1]. The stage's row stride is chosen so the 4
/// rows a half-warp reads with 8-byte loads fall into disjoint banks (stride ≡ 8 or 24 mod 32 units).
/// </summary>
public static class GpuWideVectorFragments
{
    /// <summary>Stage row stride (32-bit units) for <paramref name="steps"/> MMA steps: the patch (8 per step) plus 0 or 8.</summary>
    public static int RowStride(int steps) => 8 * steps + ((steps & 1) == 1 ? 0 : 8);

    /// <summary>The weights as B fragment pairs: ulong index ((((tile·steps + s)·4 + q)·32 + lane)·2 + h) holds word 4s + t of
    /// channel 64·tile + 8·(2q + h) + g (zero past the patch or the channels).</summary>
    internal static ulong[] Weights(ulong[] w, int k, GpuBlockParams p)
    {
        int words = p.KWords, steps = p.KSteps, tiles = p.PaddedK / 64;
        var frag = new ulong[(long)tiles * steps * 256];
        for (int ct = 0; ct < tiles; ct++)
            for (int s = 0; s < steps; s++)
                for (int q = 0; q < 4; q++)
                    for (int lane = 0; lane < 32; lane++)
                        for (int h = 0; h < 2; h++)
                        {
                            int ch = ct * 64 + (2 * q + h) * 8 + (lane >> 2), word = 4 * s + (lane & 3);
                            if (ch < k && word < words)
                                frag[((((long)ct * steps + s) * 4 + q) * 32 + lane) * 2 + h] = w[(long)ch * words + word];
                        }
        return frag;
    }

    /// <summary>The warp's 32 rows × 64 channels of tile <paramref name="tile"/> (<paramref name="firstRow"/>: the lane's row
    /// g in the stage): as <see cref="GpuTensorCoreWide2M"/>'s product, two steps per iteration, the fragments one step
    /// ahead of their 16 MMAs; the loads past the last step read the stage's slack and the weights' zero steps.</summary>
    internal static void Product(GpuBlockParams p, ArrayView<FragmentPair> weights, ArrayView<ulong> stage, int tile, int firstRow,
        ref MmaTile8 lo, ref MmaTile8 hi)
    {
        long half = p.RowStride >> 1;
        long rA = firstRow * half + (Group.IdxX & 3), rB = rA + 8 * half, rC = rA + 16 * half, rD = rA + 24 * half;
        long w = (long)tile * p.KSteps * 128 + (Group.IdxX & 31);
        var even = Load(weights, w);
        var loEven = LoadA(stage, rA, rB);
        var hiEven = LoadA(stage, rC, rD);
        int s = 0;
        for (; s + 1 < p.KSteps; s += 2)
        {
            var odd = Load(weights, w + 128);
            var loOdd = LoadA(stage, rA + 4 * s + 4, rB + 4 * s + 4);
            var hiOdd = LoadA(stage, rC + 4 * s + 4, rD + 4 * s + 4);
            Mma8(loEven, even, ref lo);
            Mma8(hiEven, even, ref hi);
            w += 256;
            even = Load(weights, w);
            loEven = LoadA(stage, rA + 4 * s + 8, rB + 4 * s + 8);
            hiEven = LoadA(stage, rC + 4 * s + 8, rD + 4 * s + 8);
            Mma8(loOdd, odd, ref lo);
            Mma8(hiOdd, odd, ref hi);
        }
        if (s < p.KSteps) // an odd step count: the last one
        {
            Mma8(loEven, even, ref lo);
            Mma8(hiEven, even, ref hi);
        }
    }

    /// <summary>A lane's 8 B fragments of one step: 4 pairs, 32 lanes apart.</summary>
    struct Fragments
    {
        public FragmentPair P0, P1, P2, P3;
    }

    static Fragments Load(ArrayView<FragmentPair> weights, long i) => new()
    {
        P0 = weights[i], P1 = weights[i + 32], P2 = weights[i + 64], P3 = weights[i + 96],
    };

    /// <summary>Rows g (stage word <paramref name="ra"/>) and g+8 (<paramref name="rb"/>): a0/a2 the low/high half of row g's word.</summary>
    static RowWords LoadA(ArrayView<ulong> stage, long ra, long rb) => new() { G = stage[ra], G8 = stage[rb] };

    struct RowWords
    {
        public ulong G, G8;
    }

    static void Mma8(RowWords a, Fragments b, ref MmaTile8 acc)
    {
        Step(ref acc.F0, a, b.P0.Lo);
        Step(ref acc.F1, a, b.P0.Hi);
        Step(ref acc.F2, a, b.P1.Lo);
        Step(ref acc.F3, a, b.P1.Hi);
        Step(ref acc.F4, a, b.P2.Lo);
        Step(ref acc.F5, a, b.P2.Hi);
        Step(ref acc.F6, a, b.P3.Lo);
        Step(ref acc.F7, a, b.P3.Hi);
    }

    static void Step(ref MmaAccumulator c, RowWords a, ulong b) =>
        GpuMma.AndPopc(ref c, (uint)a.G, (uint)a.G8, (uint)(a.G >> 32), (uint)(a.G8 >> 32), (uint)b, (uint)(b >> 32));
}
