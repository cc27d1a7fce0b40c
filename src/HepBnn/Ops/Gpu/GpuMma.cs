using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Ops.Gpu;

/// <summary>Accumulator fragment of one m16n8 MMA tile held by one lane: C0, C1 at (row g, columns 2t, 2t+1), C2, C3 at
/// (row g+8, the same columns), where g = lane / 4 and t = lane % 4.</summary>
public struct MmaAccumulator
{
    public int C0, C1, C2, C3;
}

/// <summary>
/// The 1-bit tensor-core product <c>mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc</c>: D = C + popc(A ∧ B)
/// for a 16×256-bit A (row-major) and a 256×8-bit B (column-major), computed by the 32 lanes of a warp together.
/// Fragment layout (PTX ISA, "Matrix Fragments for mma.m16n8k256"), lane = 4g + t, each register 32 consecutive bits
/// of the 256-bit reduction dimension (bit i of a register = element 32·u + i, u its 32-bit index in the 256):
/// <list type="bullet">
/// <item>A: a0 = row g, u = t; a1 = row g+8, u = t; a2 = row g, u = 4+t; a3 = row g+8, u = 4+t.</item>
/// <item>B: b0 = column g, u = t; b1 = column g, u = 4+t.</item>
/// <item>C/D: see <see cref="MmaAccumulator"/>.</item>
/// </list>
/// On CUDA it emits the PTX (<c>.and.popc</c>: <c>.xor.popc</c> runs 5.7x slower on sm_90); elsewhere (ILGPU's CPU
/// accelerator, which cannot run inline PTX) a plain emulation of the same semantics and layout gathers the fragments
/// of the other lanes with shuffles, so the CI tests check every kernel's fragment indexing bit-exact.
/// </summary>
public static class GpuMma
{
    /// <summary>Bit-MACs of one MMA: 16·8·256.</summary>
    public const long MacsPerMma = 16 * 8 * 256;

    /// <summary>c += popc(A ∧ B) for this lane's fragments. Every lane of the warp must call it together.</summary>
    public static void AndPopc(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        Mma(ref c, a0, a1, a2, a3, b0, b1, bytes: false);

    /// <summary>c += A·B for a 16×32 A of unsigned bytes and a 32×8 B of signed bytes
    /// (<c>mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32</c>, exact integer sums). Fragments as for
    /// <see cref="AndPopc"/> with 4 bytes per register instead of 32 bits (element 4·u + i in byte i, low byte first):
    /// a0 = row g, k 4t..4t+3; a1 = row g+8, the same k; a2 = row g, k 16+4t..; a3 = row g+8, k 16+4t..;
    /// b0 = column g, k 4t..4t+3; b1 = column g, k 16+4t... Every lane of the warp must call it together.</summary>
    public static void DotU8S8(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) =>
        Mma(ref c, a0, a1, a2, a3, b0, b1, bytes: true);

    /// <summary>One wrapper for both MMAs, which share fragment layout and operands: <paramref name="bytes"/> is a
    /// constant at each (inlined) call, so each kernel keeps exactly its one PTX instruction. The PTX text stays a
    /// literal at each EmitRef because ILGPU needs the inline-assembly string as a constant where it is called.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Mma(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1, bool bytes)
    {
        if (CudaAsm.IsSupported)
        {
            Output<int> d0 = default, d1 = default, d2 = default, d3 = default;
            Input<uint> ia0 = a0, ia1 = a1, ia2 = a2, ia3 = a3, ib0 = b0, ib1 = b1;
            Input<int> ic0 = c.C0, ic1 = c.C1, ic2 = c.C2, ic3 = c.C3;
            if (bytes)
                CudaAsm.EmitRef(
                    "mma.sync.aligned.m16n8k32.row.col.s32.u8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};",
                    ref d0, ref d1, ref d2, ref d3, ref ia0, ref ia1, ref ia2, ref ia3, ref ib0, ref ib1,
                    ref ic0, ref ic1, ref ic2, ref ic3);
            else
                CudaAsm.EmitRef(
                    "mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};",
                    ref d0, ref d1, ref d2, ref d3, ref ia0, ref ia1, ref ia2, ref ia3, ref ib0, ref ib1,
                    ref ic0, ref ic1, ref ic2, ref ic3);
            c.C0 = d0.Value;
            c.C1 = d1.Value;
            c.C2 = d2.Value;
            c.C3 = d3.Value;
        }
        else Emulate(ref c, a0, a1, a2, a3, b0, b1, bytes);
    }

    /// <summary>The MMA from shuffles: lane (g, t) needs rows g and g+8 of A (held by lanes 4g..4g+3) and columns 2t and
    /// 2t+1 of B (held by lanes 8t..8t+3 and 8t+4..8t+7). All six registers travel in one shuffle per source lane (12 in
    /// all, not 32: on the CPU accelerator every shuffle is a warp-wide rendezvous, what the emulated tests spend).
    /// <paramref name="bytes"/> picks the product of one register pair: byte dot product or popc of the AND.</summary>
    static void Emulate(ref MmaAccumulator c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1, bool bytes)
    {
        int lane = Warp.LaneIdx, g = lane >> 2, t = lane & 3;
        var mine = new LaneFragments { A0 = a0, A1 = a1, A2 = a2, A3 = a3, B0 = b0, B1 = b1 };
        int s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int j = 0; j < 4; j++)
        {
            var row = Warp.Shuffle(mine, 4 * g + j);      // rows g (A0, A2) and g+8 (A1, A3), parts j and 4+j
            var col = Warp.Shuffle(mine, 8 * t + j);      // column 2t (B0, B1)
            var col1 = Warp.Shuffle(mine, 8 * t + 4 + j); // column 2t+1
            s0 += Product(row.A0, col.B0, bytes) + Product(row.A2, col.B1, bytes);
            s1 += Product(row.A0, col1.B0, bytes) + Product(row.A2, col1.B1, bytes);
            s2 += Product(row.A1, col.B0, bytes) + Product(row.A3, col.B1, bytes);
            s3 += Product(row.A1, col1.B0, bytes) + Product(row.A3, col1.B1, bytes);
        }
        c.C0 += s0;
        c.C1 += s1;
        c.C2 += s2;
        c.C3 += s3;
    }

    static int Product(uint a, uint b, bool bytes) => bytes ? Dot4(a, b) : Pop(a & b);

    static int Pop(uint v) => IntrinsicMath.BitOperations.PopCount(v);

    /// <summary>One lane's MMA registers, shuffled together by the emulations.</summary>
    struct LaneFragments
    {
        public uint A0, A1, A2, A3, B0, B1;
    }

    /// <summary>Σ unsigned byte i of a × signed byte i of b.</summary>
    static int Dot4(uint a, uint b) =>
        (int)(a & 0xFF) * (sbyte)(byte)b + (int)((a >> 8) & 0xFF) * (sbyte)(byte)(b >> 8)
        + (int)((a >> 16) & 0xFF) * (sbyte)(byte)(b >> 16) + (int)(a >> 24) * (sbyte)(byte)(b >> 24);
}
