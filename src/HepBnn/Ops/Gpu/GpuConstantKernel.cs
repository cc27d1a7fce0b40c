using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Values;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Compiles a GPU kernel with its first parameter (the <see cref="GpuBlockParams"/>) replaced by a compile-time constant:
/// every shape, offset and loop bound of the block becomes a literal, so ILGPU folds the index arithmetic, turns the
/// divisions by shapes into multiplies and leaves ptxas constant trip counts (docs/results/h200-chain7: at batch 1 each
/// warp's serial index chain is what a layer costs). This is what ILGPU's <c>SpecializedValue&lt;T&gt;</c> does, built here
/// through ILGPU's public IR API instead of its launcher cache, because (1) the kernel must be compiled at Prepare, never
/// on a first launch inside a CUDA graph capture, (2) the launcher must be an ordinary <see cref="CudaKernel"/> delegate
/// (whose function pointer <see cref="Devices.GpuDevice.KernelWaits"/> knows for programmatic graph edges), and (3) the
/// kernel keeps the signature of every GPU kernel (<see cref="GpuKernelMethod"/>): the parameter stays, unused.
/// The IR wrapper is the one ILGPU 1.5.3's SpecializationCache builds: a method that calls the kernel (inlined) with the
/// constant struct in place of parameter 0, then the context's optimizer. CUDA only: ILGPU's CPU accelerator runs .NET
/// code, not this IR (there the same kernel with run-time parameters runs; the results are the same by construction).
/// </summary>
public static class GpuConstantKernel
{
    /// <summary>The PTX of <paramref name="kernel"/> with parameter 0 fixed to <paramref name="constant"/> (a boxed
    /// unmanaged struct of that parameter's type), compiled by <paramref name="backend"/>.</summary>
    public static PTXCompiledKernel Compile(PTXBackend backend, MethodInfo kernel, KernelSpecialization specialization, object constant)
    {
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        if (kernel.GetParameters() is not [var first, ..] || first.ParameterType != constant.GetType())
            throw new HepBnnException($"kernel {kernel.Name}: parameter 0 is not a {constant.GetType().Name}");
        var method = backend.PreCompileKernelMethod(entry);
        using var ir = new IRContext(backend.Context);
        var imported = ir.Import(method);
        imported.AddFlags(MethodFlags.Inline);
        var wrapper = ir.Declare(new MethodDeclaration(MethodHandle.Create("ConstantShapes"), ir.VoidType), out _);
        using (var builder = wrapper.CreateBuilder())
        {
            var location = wrapper.Location;
            var block = builder.EntryBlockBuilder;
            var args = new List<ValueReference>(imported.NumParameters);
            for (int i = 0; i < imported.NumParameters; i++)
            {
                var parameter = imported.Parameters[i];
                var own = builder.AddParameter(parameter.Type, parameter.Name); // kept: the launcher passes every argument
                args.Add(i == entry.KernelIndexParameterOffset ? block.CreateValue(location, constant, constant.GetType()) : own);
            }
            var invoke = block.CreateCall(location, imported);
            foreach (var a in args) invoke.Add(a);
            invoke.Seal();
            block.CreateReturn(location);
            builder.Complete(); // without it the builder drops the parameters on disposal
        }
        ir.Optimize();
        return (PTXCompiledKernel)backend.Compile(wrapper, entry, specialization);
    }

    /// <summary>Loads <paramref name="kernel"/> with <paramref name="p"/> constant on <paramref name="accelerator"/>; the launcher
    /// takes (and ignores) the parameter like any GPU kernel's. Writes the PTX to $HEPBNN_PTX_DIR/<paramref name="name"/>.ptx
    /// when that variable is set (for instruction counts on the GPU machine).</summary>
    internal static GpuKernelLauncher Load(CudaAccelerator accelerator, PTXBackend backend, MethodInfo kernel, KernelSpecialization specialization,
        GpuBlockParams p, string name)
    {
        var compiled = Compile(backend, kernel, specialization, p);
        if (Environment.GetEnvironmentVariable("HEPBNN_PTX_DIR") is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_')) + ".ptx"), compiled.PTXAssembly);
        }
        return accelerator.LoadKernel(compiled).CreateLauncherDelegate<GpuKernelLauncher>()
            ?? throw new HepBnnException($"kernel {kernel.Name}: ILGPU gave no launcher of the GPU kernel signature");
    }
}
