using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>The register epilogue of a tensor-core stage (see <see cref="GpuFusedMma"/>): thresholds → bits, OR over a
/// row's lanes, AND/OR pooling with shuffles, or integer scores.</summary>
public static partial class GpuFusedMma
{
    /// <summary>Thresholds → bits of the lane's two rows (<see cref="BitsEpilogue.RowBits"/>, the same tables), OR over
    /// the row's 4 lanes, AND/OR over each pooling window's rows with shuffles, one word stored per pooled output by the
    /// window's first lane.</summary>
    static void Bits(GpuBlockParams p, GpuFusedStage st, int batch, ArrayView<ulong> outWords, long outBase, ArrayView<int> m,
        ulong andMask, int clsA, int clsB, long rowTile, int ct, int lane, ref MmaTile8 acc)
    {
        int t = lane & 3, g = lane >> 2;
        ulong upper = BitsEpilogue.RowBits(p, m, clsA, acc.Pop.C0, t, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1, acc.F2.C0, acc.F2.C1,
            acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        ulong lower = BitsEpilogue.RowBits(p, m, clsB, acc.Pop.C2, t, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3, acc.F2.C2, acc.F2.C3,
            acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
        upper |= Shuffle(upper, 1);
        lower |= Shuffle(lower, 1);
        upper |= Shuffle(upper, 2);
        lower |= Shuffle(lower, 2);
        int window = st.Window;
        // any = OR, all = AND over the window's rows: rows g of lanes that differ in the low bits of g (xor 4, 8), and for
        // a 16-row window all 8 values of g (xor 16 too) and both rows of a lane.
        ulong anyU = upper, allU = upper, anyL = lower, allL = lower;
        if (window >= 4)
        {
            for (int d = 4; d <= (window == 16 ? 16 : 8); d <<= 1)
            {
                anyU |= Shuffle(anyU, d);
                allU &= Shuffle(allU, d);
                anyL |= Shuffle(anyL, d);
                allL &= Shuffle(allL, d);
            }
        }
        if (window == 16)
        {
            anyU |= anyL;
            allU &= allL;
        }
        if (t != 0 || g % (window > 8 ? 8 : window) != 0) return;
        int pooledPerTile = Rows / window;
        long per = (long)p.OutH * p.OutW, total = batch * per;
        long qU = rowTile * pooledPerTile + g / window;
        if (qU < total)
        {
            long n = qU / per;
            outWords[outBase + n * p.OutSample + (qU - n * per) * p.OutWords + ct] = (allU & andMask) | (anyU & ~andMask);
        }
        if (window == 16) return;
        long qL = rowTile * pooledPerTile + (g + 8) / window;
        if (qL < total)
        {
            long n = qL / per;
            outWords[outBase + n * p.OutSample + (qL - n * per) * p.OutWords + ct] = (allL & andMask) | (anyL & ~andMask);
        }
    }

    /// <summary>A 64-bit value from lane (lane ^ d), as two 32-bit shuffles.</summary>
    static ulong Shuffle(ulong v, int d)
    {
        uint lo = Warp.ShuffleXor((uint)v, d), hi = Warp.ShuffleXor((uint)(v >> 32), d);
        return lo | (ulong)hi << 32;
    }

    /// <summary>Table index of (row's border class, channel 2t of tile ct), or −1 for an empty row.</summary>
    static int ClassOf(GpuBlockParams p, ArrayView<int> m, Row r, int ct, int t) =>
        r.N < 0 ? -1 : (m[p.RowOfOffset + r.Y] * p.ColClasses + m[p.ColOfOffset + r.X]) * p.PaddedK + ct * 64 + 2 * t;

    /// <summary>Scores x = (Corr − 2·popc(w)) − 2·popc(a) + 4·popc(a ∧ w) of the lane's two rows (no pooling).</summary>
    static void Scores(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> m, Row rA, Row rB, int clsA, int clsB, int ct, int lane, ref MmaTile8 acc)
    {
        int t = lane & 3;
        RowScores(p, outScores, m, rA, clsA, ct, t, acc.Pop.C0, acc.F0.C0, acc.F0.C1, acc.F1.C0, acc.F1.C1, acc.F2.C0, acc.F2.C1,
            acc.F3.C0, acc.F3.C1, acc.F4.C0, acc.F4.C1, acc.F5.C0, acc.F5.C1, acc.F6.C0, acc.F6.C1, acc.F7.C0, acc.F7.C1);
        RowScores(p, outScores, m, rB, clsB, ct, t, acc.Pop.C2, acc.F0.C2, acc.F0.C3, acc.F1.C2, acc.F1.C3, acc.F2.C2, acc.F2.C3,
            acc.F3.C2, acc.F3.C3, acc.F4.C2, acc.F4.C3, acc.F5.C2, acc.F5.C3, acc.F6.C2, acc.F6.C3, acc.F7.C2, acc.F7.C3);
    }

    static void RowScores(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> m, Row r, int cls, int ct, int t, int pop,
        int x00, int x01, int x10, int x11, int x20, int x21, int x30, int x31, int x40, int x41, int x50, int x51, int x60, int x61, int x70, int x71)
    {
        if (cls < 0) return;
        int k = ct * 64 + 2 * t;
        long o = (long)r.N * p.OutSample + ((long)r.Y * p.OutW + r.X) * p.K + k;
        Score(p, outScores, m, cls, o, k, pop, x00, x01);
        Score(p, outScores, m, cls + 8, o + 8, k + 8, pop, x10, x11);
        Score(p, outScores, m, cls + 16, o + 16, k + 16, pop, x20, x21);
        Score(p, outScores, m, cls + 24, o + 24, k + 24, pop, x30, x31);
        Score(p, outScores, m, cls + 32, o + 32, k + 32, pop, x40, x41);
        Score(p, outScores, m, cls + 40, o + 40, k + 40, pop, x50, x51);
        Score(p, outScores, m, cls + 48, o + 48, k + 48, pop, x60, x61);
        Score(p, outScores, m, cls + 56, o + 56, k + 56, pop, x70, x71);
    }

    static void Score(GpuBlockParams p, ArrayView<int> outScores, ArrayView<int> m, int cls, long o, int k, int pop, int x0, int x1)
    {
        if (k < p.K) outScores[o] = m[p.ValueOffset + cls] - 2 * pop + 4 * x0;
        if (k + 1 < p.K) outScores[o + 1] = m[p.ValueOffset + cls + 1] - 2 * pop + 4 * x1;
    }
}
