// Usage: dotnet run -c Release --project tools/PtxDump -- <out-dir>
// Compiles each tensor-core kernel (and the SIMT kernels whose code was shared out) for sm_90 with ILGPU's PTX backend (the optimization level HepBnn's GpuDevice uses)
// and writes <Class>-<Method>.ptx, so ptxas can report registers, shared memory and spills without a .NET SDK there.
using System.Reflection;
using HepBnn.Ops.Gpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

string dir = args.Length > 0 ? args[0] : "ptx";
Directory.CreateDirectory(dir);
using var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
var capabilities = new CudaCapabilityContext(CudaArchitecture.SM_90);
// As GpuDevice does on an sm_90 GPU: kernels with griddepcontrol (HEPBNN_PDL=force here, without a GPU) need .target sm_90.
if (HepBnn.Devices.GpuDependentLaunch.KernelsWait) HepBnn.Devices.GpuDependentLaunch.RaiseTarget(capabilities);
var backend = new PTXBackend(context, capabilities, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
var kernels = new (Type Type, string Method)[]
{
    (typeof(GpuTensorCore), "BitsKernel"), (typeof(GpuTensorCore), "ScoresKernel"), (typeof(GpuTensorCoreImage), "Kernel"), (typeof(GpuTensorCoreImageFast), "Kernel"), (typeof(GpuTensorCoreImageRows), "Kernel"), (typeof(GpuTensorCoreImageRowsStaged), "StagedKernel"),
    (typeof(GpuTensorCoreWide), "BitsKernel"), (typeof(GpuTensorCoreWide), "ScoresKernel"), (typeof(GpuTensorCoreWide), "BitsKernelDeep"), (typeof(GpuTensorCoreWideSplit), "SplitBitsKernel"),
    (typeof(GpuFusedKernel), "Kernel"), (typeof(GpuFusedKernel), "KernelSimt"),
    (typeof(GpuTensorCoreWide2M), "BitsKernel2M"), (typeof(GpuTensorCoreWide2M), "ScoresKernel2M"),
    (typeof(GpuTiledShared), "BitsKernel"), (typeof(GpuTiledShared), "ScoresKernel"),
    (typeof(GpuThreadPerPixel), "BitsKernel"), (typeof(GpuThreadPerPixel), "ScoresKernel"),
    (typeof(GpuGemv), "BitsKernel"), (typeof(GpuGemv), "ScoresKernel"), (typeof(GpuGemvPair), "PairKernel"), (typeof(GpuTensorCoreDensePair), "PairKernel"),
    (typeof(HepBnn.Devices.GpuLaunchGate), "SpinKernel"),
};
// Kernels the configurations load with a KernelSpecialization (.maxntid, .minnctapersm): also written with it, so ptxas
// reports the registers they run with (GpuTensorCoreWide2MR128: 64 threads × 8 groups; GpuTensorCoreWide4W: 128 × 4).
var specialized = new (Type Type, string Method, string Suffix, KernelSpecialization Spec)[]
{
    (typeof(GpuTensorCoreWide2M), "BitsKernel2M", "r128", new KernelSpecialization(64, 8)),
    (typeof(GpuTensorCoreWide4W), "BitsKernel4W", "", new KernelSpecialization(128, 4)),
    (typeof(GpuTensorCoreWide4W), "ScoresKernel4W", "", new KernelSpecialization(128, 4)),
    (typeof(GpuTensorCoreWide2M), "BitsKernel2MLean", "r128", new KernelSpecialization(64, 8)),
    (typeof(GpuTensorCoreWide4W), "BitsKernel4WLean", "", new KernelSpecialization(128, 4)),
    (typeof(GpuTensorCoreWide2MFold), "BitsKernel2MFold", "r128", new KernelSpecialization(64, 8)),
    (typeof(GpuTensorCoreWide2MBand), "BitsKernelBand", "r128", new KernelSpecialization(64, 8)),
    (typeof(GpuTensorCoreDenseNarrow), "NarrowBitsKernel", "", new KernelSpecialization(512, 1)),
    (typeof(GpuTensorCoreWide2MPipe), "BitsKernelPipe", "r128", new KernelSpecialization(64, 8)),
};
foreach (var (type, name, suffix, spec) in kernels.Select(k => (k.Type, k.Method, "", KernelSpecialization.Empty)).Concat(specialized))
{
    var method = type.GetMethod(name, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
        ?? throw new InvalidOperationException($"{type.Name}.{name} not found");
    var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), spec);
    var path = Path.Combine(dir, $"{type.Name}-{name}{(suffix.Length > 0 ? "-" + suffix : "")}.ptx");
    File.WriteAllText(path, compiled.PTXAssembly);
    Console.WriteLine($"{path}: {compiled.PTXAssembly.Length:N0} characters");
    if (type == typeof(GpuTensorCoreWide2MPipe)) // as GpuConfiguration loads it: the operand locals promoted in the PTX
    {
        var promotedPath = Path.ChangeExtension(path, null) + "-promoted.ptx";
        File.WriteAllText(promotedPath, GpuPtxLocals.Promote(compiled.PTXAssembly, out int promoted));
        Console.WriteLine($"{promotedPath}: {promoted} locals promoted");
    }
}
