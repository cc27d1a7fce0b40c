using ILGPU;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// popc(a) of a lane's four rows (g, g+8, g+16, g+24 of its warp's 32) over the staged patch, counted with POPC (inline PTX <c>popc.b32</c>) on
/// 32-bit stage words instead of MMAs against an all-ones B: the same values as
/// <see cref="GpuTensorCoreWide2M.RowPopcounts"/> in the same accumulator places (C0 = C1 = row g, C2 = C3 = row g+8 of
/// each m16 tile). Lane (g, t) reads the words t, t+4, … of its rows, the A fragments' conflict-free pattern, and the 4
/// lanes of a row add theirs with two shuffles. Why: the MMA loop took 46 SASS instructions per step (8 shared loads,
/// 2 MMAs and the accumulators' moves), ~13% of VGG7 conv6's instructions under gpu.tensor-core-wide-4w
/// (docs/results/h200-mma30); this loop is 8 loads, 8 POPC and 4 three-input adds per step.
/// </summary>
public static class GpuWideRowPopcounts
{
    /// <summary>The popcounts of this lane's rows; <paramref name="firstRow"/> is row g in the stage.</summary>
    public static void Count(GpuBlockParams p, ArrayView<uint> stage, int firstRow, out MmaAccumulator lo, out MmaAccumulator hi)
    {
        long rA = firstRow * p.RowStride + (Group.IdxX & 3), rB = rA + 8 * p.RowStride;
        long rC = rA + 16 * p.RowStride, rD = rA + 24 * p.RowStride;
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int u = 0; u < 8 * p.KSteps; u += 8)
        {
            s0 += GpuPopc.Count(stage[rA + u]) + GpuPopc.Count(stage[rA + u + 4]);
            s1 += GpuPopc.Count(stage[rB + u]) + GpuPopc.Count(stage[rB + u + 4]);
            s2 += GpuPopc.Count(stage[rC + u]) + GpuPopc.Count(stage[rC + u + 4]);
            s3 += GpuPopc.Count(stage[rD + u]) + GpuPopc.Count(stage[rD + u + 4]);
        }
        s0 = SumQuad(s0);
        s1 = SumQuad(s1);
        s2 = SumQuad(s2);
        s3 = SumQuad(s3);
        lo = new MmaAccumulator { C0 = s0, C1 = s0, C2 = s1, C3 = s1 };
        hi = new MmaAccumulator { C0 = s2, C1 = s2, C2 = s3, C3 = s3 };
    }

    /// <summary>The sum over the 4 lanes of this lane's row (lanes 4g..4g+3).</summary>
    static int SumQuad(int v)
    {
        v += Warp.ShuffleXor(v, 1);
        return v + Warp.ShuffleXor(v, 2);
    }
}
