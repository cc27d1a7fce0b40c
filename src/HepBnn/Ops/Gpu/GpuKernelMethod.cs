// The one signature of every GPU kernel: block parameters, input, the output viewed as words / half-words / ints,
// weights, meta ints, pooling AND mask. ILGPU compiles static methods of this shape.
global using GpuKernelMethod = System.Action<HepBnn.Ops.Gpu.GpuBlockParams, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>,
    ILGPU.ArrayView<uint>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>>;
global using GpuKernelLauncher = System.Action<ILGPU.Runtime.AcceleratorStream, ILGPU.KernelConfig, HepBnn.Ops.Gpu.GpuBlockParams,
    ILGPU.ArrayView<ulong>, ILGPU.ArrayView<ulong>, ILGPU.ArrayView<uint>, ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>,
    ILGPU.ArrayView<int>, ILGPU.ArrayView<ulong>>;
