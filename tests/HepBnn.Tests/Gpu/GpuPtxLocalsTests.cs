using System.Reflection;
using System.Text.RegularExpressions;
using HepBnn.Ops.Gpu;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Tests.Gpu;

/// <summary>GpuPtxLocals: ILGPU's inline-PTX operand locals rewritten into registers only where they are provably scalars,
/// on hand-written PTX (every refusal case) and on the pipe kernel's real PTX (compiled for sm_90 without a GPU).</summary>
public class GpuPtxLocalsTests
{
    const string Head = ".version 8.0\n.target sm_80\n.address_size 64\n\n";

    static string Kernel(string locals, string body) =>
        Head + locals + ".visible .entry K(\n)\n{\n\t.reg .b32\t%r<20>;\n\t.reg .b64\t%rd<20>;\n\n" + body + "\tret;\n}\n";

    [Fact]
    public void ScalarDepotsBecomeRegisters()
    {
        string ptx = Kernel(
            "\t.local .align 4 .b8 __local_depot0[4];\n\t.local .align 8 .b8 __local_depot1[8];\n",
            "\tmov.b64\t%rd1, __local_depot0;\n\tmov.b64\t%rd2, __local_depot1;\n" +
            "\tst.local.b32\t[%rd1], %r3;\n\tst.local.b64\t[%rd2], %rd5;\n\tst.local.b32\t[%rd1], -1;\n" +
            "\tld.local.b32\t%r4, [%rd1];\n\tld.local.b64\t%rd6, [%rd2];\n\tpopc.b32 %r5, %r4;\n");
        string rewritten = GpuPtxLocals.Promote(ptx, out int promoted);
        Assert.Equal(2, promoted);
        Assert.DoesNotContain(".local", rewritten);
        Assert.DoesNotContain("__local_depot", rewritten);
        Assert.Contains("\tmov.b32\t%lp0, %r3;\n", rewritten);
        Assert.Contains("\tmov.b64\t%lq1, %rd5;\n", rewritten);
        Assert.Contains("\tmov.b32\t%lp0, -1;\n", rewritten);
        Assert.Contains("\tmov.b32\t%r4, %lp0;\n", rewritten);
        Assert.Contains("\tmov.b64\t%rd6, %lq1;\n", rewritten);
        Assert.Contains("\t.reg .b64\t%rd<20>;\n\t.reg .b32\t%lp<2>;\n\t.reg .b64\t%lq<2>;\n", rewritten);
        Assert.Contains("\tpopc.b32 %r5, %r4;\n\tret;\n}\n", rewritten); // the rest as it was
    }

    /// <summary>Each case keeps its depot in memory: a width other than the depot's, an offset address, an address copied,
    /// an address set twice, a depot larger than one register, the address stored as a value.</summary>
    [Theory]
    [InlineData("\t.local .align 4 .b8 __local_depot0[4];\n", "\tmov.b64\t%rd1, __local_depot0;\n\tst.local.b8\t[%rd1], %rs1;\n\tld.local.b32\t%r2, [%rd1];\n")]
    [InlineData("\t.local .align 4 .b8 __local_depot0[4];\n", "\tmov.b64\t%rd1, __local_depot0;\n\tst.local.b32\t[%rd1+4], %r1;\n\tld.local.b32\t%r2, [%rd1];\n")]
    [InlineData("\t.local .align 4 .b8 __local_depot0[4];\n", "\tmov.b64\t%rd1, __local_depot0;\n\tmov.b64\t%rd3, %rd1;\n\tst.local.b32\t[%rd3], %r1;\n\tld.local.b32\t%r2, [%rd1];\n")]
    [InlineData("\t.local .align 4 .b8 __local_depot0[4];\n", "\tmov.b64\t%rd1, __local_depot0;\n\tst.local.b32\t[%rd1], %r1;\n\tmov.b64\t%rd1, __local_depot0;\n\tld.local.b32\t%r2, [%rd1];\n")]
    [InlineData("\t.local .align 4 .b8 __local_depot0[16];\n", "\tmov.b64\t%rd1, __local_depot0;\n\tst.local.b32\t[%rd1], %r1;\n\tld.local.b32\t%r2, [%rd1];\n")]
    [InlineData("\t.local .align 8 .b8 __local_depot0[8];\n", "\tmov.b64\t%rd1, __local_depot0;\n\tst.local.b64\t[%rd1], %rd1;\n\tld.local.b64\t%rd2, [%rd1];\n")]
    [InlineData("\t.local .align 4 .b8 __local_depot0[4];\n", "\tmov.b64\t%rd1, __local_depot0;\n\tst.local.b32\t[%rd1], %r1;\n\tld.local.b32\t%r2, [%rd1];\n\tcvta.local.u64\t%rd4, %rd1;\n")]
    public void NonScalarDepotsStay(string locals, string body)
    {
        string ptx = Kernel(locals, body);
        string rewritten = GpuPtxLocals.Promote(ptx, out int promoted);
        Assert.Equal(0, promoted);
        Assert.Same(ptx, rewritten);
    }

    /// <summary>The pipe kernel as GpuConfiguration loads it on CUDA: every operand local of ILGPU's PTX promoted (ptxas
    /// 13.0 on this text: 24-byte stack instead of 2,912, docs/results/h200-conv9), and every other instruction kept in
    /// order: the rewritten text minus the new movs and declarations is the original minus its locals' lines.</summary>
    [Fact]
    public void PipeKernelHasNoLocalsLeft()
    {
        var method = typeof(GpuTensorCoreWide2MPipe).GetMethod("BitsKernelPipe", BindingFlags.Static | BindingFlags.NonPublic)!;
        using var context = Context.Create(b => b.Cuda().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var compiled = (PTXCompiledKernel)backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(method), new KernelSpecialization(64, 8));
        string original = compiled.PTXAssembly;
        int depots = Regex.Matches(original, @"\.local \.align \d+ \.b8 __local_depot\d+\[[48]\];").Count;
        Assert.True(depots > 600, $"{depots} operand locals: ILGPU's PTX changed shape");
        var promotedKernel = GpuPtxLocals.Promote(compiled, out int promoted);
        string rewritten = promotedKernel.PTXAssembly;
        Assert.Equal(depots, promoted);
        Assert.DoesNotContain(".local", rewritten);
        Assert.Equal(Count(original, "mma.sync"), Count(rewritten, "mma.sync"));
        Assert.Equal(Count(original, "cp.async.ca.shared.global"), Count(rewritten, "cp.async.ca.shared.global"));
        var kept = original.Split('\n').Where(l => !l.Contains("__local_depot") && !l.Contains(".local")).ToArray();
        var rest = rewritten.Split('\n').Where(l => !Regex.IsMatch(l, @"%l[pq]\d|%l[pq]<")).ToArray();
        Assert.Equal(kept, rest);
    }

    static int Count(string text, string what) => Regex.Matches(text, Regex.Escape(what)).Count;
}
