using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Asynchronous copies of 64-bit words from a global view into the kernel's dynamic shared memory
/// (<c>cp.async.ca.shared.global</c>, sm_80+): a thread issues a copy and goes on without a register waiting for the
/// data, <see cref="Commit"/> closes its copies so far into a group, <see cref="WaitAllButOne"/> waits until all but its
/// latest group have landed (a group barrier then makes every thread's copies visible to the group). Why: the band
/// kernel's preamble waited on its global loads at 4 warps per scheduler (docs/results/h200-ncu4); with these copies a
/// group loads its next row tile's band while it multiplies the current one (<see cref="GpuTensorCoreWide2MPipe"/>).
/// <para>Addresses: ILGPU 1.5.3 gives device code no address of a view (LoadEffectiveAddress is internal,
/// Unsafe.AsPointer and <c>fixed</c> do not compile), so the source's generic device address comes from the host with
/// the launch (<see cref="GpuConfiguration.Bind"/>) and the destination is ILGPU's dynamic shared-memory symbol
/// <c>__dyn_shared_alloca</c> (what SharedMemory.GetDynamic views) plus the word offset.</para>
/// <para>ILGPU passes each inline-PTX operand through a local that ptxas must promote to a register, and ptxas promotes
/// none of them in a function that contains any <c>cp.async</c> (the first pipe build: a 2,912-byte stack, 24x slower;
/// docs/results/h200-pipe8, h200-conv9): a kernel using these copies sets <see cref="GpuConfiguration"/>'s
/// <c>PromotesLocals</c>, so <see cref="GpuPtxLocals"/> promotes them in the PTX before ptxas.</para>
/// 8-byte copies, not 16: a band row starts at any pixel and pixels of an odd word count are not 16-byte aligned.
/// A copy of an invalid word (<c>src-size</c> 0) writes zeros: the band's padding. On ILGPU's CPU accelerator (no inline
/// PTX) each copy is a plain load and store done at once, and the commit and wait do nothing: the kernels' barriers
/// around the buffers are what makes the emulated order the same as the asynchronous one.
/// </summary>
public readonly struct GpuAsyncCopy
{
    readonly ArrayView<ulong> _shared, _source;
    readonly ulong _address; // generic device address of _source[0] (CUDA)
    readonly uint _base;     // .shared address of the dynamic shared memory (CUDA)

    /// <param name="dynamicShared">SharedMemory.GetDynamic&lt;ulong&gt;() of the kernel: copies land at its word offsets.</param>
    /// <param name="source">The global view copied from, at device address <paramref name="address"/>.</param>
    public GpuAsyncCopy(ArrayView<ulong> dynamicShared, ArrayView<ulong> source, ulong address)
    {
        _shared = dynamicShared;
        _source = source;
        _address = address;
        _base = CudaAsm.IsSupported ? DynamicSharedBase() : 0u;
    }

    /// <summary>The 32-bit .shared address of ILGPU's dynamic shared memory (its symbol <c>__dyn_shared_alloca</c>).</summary>
    static uint DynamicSharedBase()
    {
        Output<uint> d = default;
        CudaAsm.EmitRef("mov.u32 %0, __dyn_shared_alloca;", ref d);
        return d.Value;
    }

    /// <summary>Shared word <paramref name="at"/> ← source[<paramref name="index"/>] when <paramref name="valid"/>, else 0
    /// (the index is then not read; pass any index inside the source).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Copy8(int at, long index, bool valid)
    {
        if (CudaAsm.IsSupported)
        {
            // The generic address as the global one, as CUTLASS passes it (global memory's generic window is the identity);
            // no PTX scope or temporary registers around the instruction, only its own operands.
            Input<uint> dst = _base + 8u * (uint)at, size = valid ? 8u : 0u;
            Input<ulong> src = _address + 8ul * (ulong)index;
            CudaAsm.EmitRef("cp.async.ca.shared.global [%0], [%1], 8, %2;", ref dst, ref src, ref size);
        }
        else _shared[at] = valid ? _source[index] : 0ul;
    }

    /// <summary>Closes this thread's copies issued since the last commit into one group (an empty group when none).</summary>
    public static void Commit()
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("cp.async.commit_group;");
    }

    /// <summary>Waits until every committed group of this thread has landed.</summary>
    public static void WaitAll()
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("cp.async.wait_group 0;");
    }

    /// <summary>Waits until every committed group of this thread but the latest one has landed.</summary>
    public static void WaitAllButOne()
    {
        if (CudaAsm.IsSupported) CudaAsm.Emit("cp.async.wait_group 1;");
    }

    /// <summary>Generic device address of a view's first element, on the host (0 for a view without a buffer).</summary>
    public static ulong DeviceAddress(ArrayView<ulong> view) =>
        view.IsValid ? (ulong)((IArrayView)view).Buffer.NativePtr + (ulong)((IContiguousArrayView)view).IndexInBytes : 0ul;
}
