using System.Reflection;
using ILGPU;
using ILGPU.Backends;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.IR;
using ILGPU.IR.Transformations;
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
    /// <summary>Most iterations of one loop <see cref="Compile"/> unrolls (ILGPU's LoopUnrolling: fully up to this trip count,
    /// else by the largest power-of-two divisor up to it). VGG7's longest twin loops: the 18 MMA steps of conv5/conv6's
    /// popcounts (the product runs 6 rounds of 3 steps).</summary>
    public const int MaxUnroll = 32;

    /// <summary>The PTX of <paramref name="kernel"/> with parameter 0 fixed to <paramref name="constant"/> (a boxed
    /// unmanaged struct of that parameter's type), compiled by <paramref name="backend"/>; with <paramref name="unroll"/>
    /// the IR is fixed to CUDA and its constant-trip loops unrolled first (the "…-const-unrolled" twins).</summary>
    public static PTXCompiledKernel Compile(PTXBackend backend, MethodInfo kernel, KernelSpecialization specialization, object constant, bool unroll) =>
        Compile(backend, kernel, specialization, [constant], unroll);

    /// <summary>The same with parameters 0 .. n−1 fixed to <paramref name="constants"/> (a range kernel's two blocks:
    /// <see cref="GpuGemvPair"/>).</summary>
    public static PTXCompiledKernel Compile(PTXBackend backend, MethodInfo kernel, KernelSpecialization specialization, IReadOnlyList<object> constants, bool unroll)
    {
        var entry = EntryPointDescription.FromExplicitlyGroupedKernel(kernel);
        var declared = kernel.GetParameters();
        for (int c = 0; c < constants.Count; c++)
            if (c >= declared.Length || declared[c].ParameterType != constants[c].GetType())
                throw new HepBnnException($"kernel {kernel.Name}: parameter {c} is not a {constants[c].GetType().Name}");
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
                int c = i - entry.KernelIndexParameterOffset;
                args.Add(c >= 0 && c < constants.Count ? block.CreateValue(location, constants[c], constants[c].GetType()) : own);
            }
            var invoke = block.CreateCall(location, imported);
            foreach (var a in args) invoke.Add(a);
            invoke.Seal();
            block.CreateReturn(location);
            builder.Complete(); // without it the builder drops the parameters on disposal
        }
        ir.Optimize();
        if (unroll)
        {
            FixAcceleratorToCuda(wrapper);
            ir.Optimize(); // folds the IsSupported tests: the emulation branches and their loops are gone
            ir.Transform(Unroller);
        }
        return (PTXCompiledKernel)backend.Compile(wrapper, entry, specialization);
    }

    /// <summary>ILGPU 1.5.3's context pipeline unrolled no loop of the twins (nor a literal `for (u = 0; u &lt; 40; u += 8)`:
    /// PTX compiled here, no GPU needed), and ptxas kept them as loops; run explicitly after the optimizer, LoopUnrolling
    /// unrolls every loop whose break condition compares its counter itself with a constant (one exit, the counter
    /// stepped by a constant), which the constant shapes make of the product, popcount and gather loops.</summary>
    static readonly Transformer Unroller = Transformer.Create(new TransformerConfiguration(MethodTransformationFlags.None, MethodTransformationFlags.None),
        new LoopUnrolling(MaxUnroll), new DeadCodeElimination(), new SimplifyControlFlow());

    /// <summary>Replaces the accelerator-type queries (<c>CudaAsm.IsSupported</c> is one) by CUDA's constant, as ILGPU's backend
    /// does only after its own passes: done here, before unrolling, every MMA's CPU emulation (shuffles in a loop of 4, dead
    /// on CUDA, but ~140 PTX lines each, and a loop inside each product loop) leaves the IR first.</summary>
    static void FixAcceleratorToCuda(Method wrapper)
    {
        using var builder = wrapper.CreateBuilder();
        var found = new List<AcceleratorTypeValue>();
        foreach (var block in builder.SourceBlocks)
            foreach (var entry in block)
                if (entry.Value is AcceleratorTypeValue query) found.Add(query);
        foreach (var query in found)
            query.Replace(builder.EntryBlockBuilder.CreatePrimitiveValue(query.Location, (int)AcceleratorType.Cuda));
    }

    /// <summary>Loads <paramref name="kernel"/> with <paramref name="p"/> constant on <paramref name="accelerator"/>; the launcher
    /// takes (and ignores) the parameter like any GPU kernel's. Writes the PTX to $HEPBNN_PTX_DIR/<paramref name="name"/>.ptx
    /// when that variable is set (for instruction counts on the GPU machine).</summary>
    internal static GpuKernelLauncher Load(CudaAccelerator accelerator, PTXBackend backend, MethodInfo kernel, KernelSpecialization specialization,
        GpuBlockParams p, string name, bool unroll) => Load<GpuKernelLauncher>(accelerator, backend, kernel, specialization, [p], name, unroll);

    /// <summary>The same for a kernel of another signature with parameters 0 .. n−1 constant.</summary>
    internal static TLauncher Load<TLauncher>(CudaAccelerator accelerator, PTXBackend backend, MethodInfo kernel, KernelSpecialization specialization,
        IReadOnlyList<object> constants, string name, bool unroll) where TLauncher : Delegate
    {
        var compiled = Compile(backend, kernel, specialization, constants, unroll);
        if (Environment.GetEnvironmentVariable("HEPBNN_PTX_DIR") is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, string.Concat(name.Select(c => char.IsLetterOrDigit(c) || c is '-' or '.' ? c : '_')) + ".ptx"), compiled.PTXAssembly);
        }
        return accelerator.LoadKernel(compiled).CreateLauncherDelegate<TLauncher>()
            ?? throw new HepBnnException($"kernel {kernel.Name}: ILGPU gave no launcher of the {typeof(TLauncher).Name} signature");
    }
}
