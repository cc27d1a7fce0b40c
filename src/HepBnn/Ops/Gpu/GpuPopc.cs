using ILGPU;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Population count for kernels: the PTX <c>popc</c> instruction on CUDA (one SASS POPC per 32 bits), the same count in C#
/// elsewhere (ILGPU's CPU accelerator cannot run inline PTX). Why not <c>IntrinsicMath.BitOperations.PopCount</c>: ILGPU
/// 1.5.3 lowers it to a 12-instruction shift-and-mask sequence per 32 bits in the PTX (found by helper mma31,
/// docs/results/h200-mma31), which the SIMT configurations paid in their inner loops.
/// </summary>
public static class GpuPopc
{
    /// <summary>popc of a 32-bit word.</summary>
    public static int Count(uint v)
    {
        if (!CudaAsm.IsSupported) return IntrinsicMath.BitOperations.PopCount(v);
        Output<uint> d = default;
        Input<uint> a = v;
        CudaAsm.EmitRef("popc.b32 %0, %1;", ref d, ref a);
        return (int)d.Value;
    }

    /// <summary>popc of a 64-bit word (PTX <c>popc.b64</c>: a 32-bit result).</summary>
    public static int Count(ulong v)
    {
        if (!CudaAsm.IsSupported) return IntrinsicMath.BitOperations.PopCount(v);
        Output<uint> d = default;
        Input<ulong> a = v;
        CudaAsm.EmitRef("popc.b64 %0, %1;", ref d, ref a);
        return (int)d.Value;
    }
}
