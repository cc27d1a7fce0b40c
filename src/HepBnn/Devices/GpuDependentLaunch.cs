using System.Reflection;
using System.Runtime.CompilerServices;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>
/// Programmatic dependent launch (Hopper, sm_90+): in a captured segment graph a kernel may be launched while the kernel
/// before it still runs, if it executes PTX <c>griddepcontrol.wait</c> (which returns once every prerequisite grid has
/// completed and its memory is visible) before it touches anything the predecessor writes or reads. <see cref="CudaGraph"/>
/// turns a kernel→kernel edge into a programmatic one only when the dependent kernel's entry starts with <see cref="Wait"/>
/// (<see cref="StartsWithWait"/>, checked once per loaded kernel), so a kernel without the wait can never race.
/// <para>The instruction exists only on sm_90+ with PTX ISA 7.8+, and ptxas rejects it elsewhere; so whether kernels
/// contain it is decided once per process (<see cref="KernelsWait"/>, a static readonly field that ILGPU folds into a
/// constant when it compiles a kernel), before the first kernel is compiled, from the first CUDA GPU and HEPBNN_PDL.
/// On ILGPU's CPU accelerator the call does nothing. Where no edge is programmatic the wait returns at once.</para>
/// </summary>
public static class GpuDependentLaunch
{
    /// <summary>The environment switch. Unset: kernels carry the wait where the GPU supports it, graph edges stay plain
    /// (sessions may ask for programmatic ones, <see cref="Runtime.SessionOptions.DependentLaunch"/>); 1/on/true: the same,
    /// and programmatic edges by default; 0/off/false: neither (kernels exactly as without this feature); "force":
    /// compile the instruction in even without a detected sm_90 GPU (tools/PtxDump reads the PTX without a GPU).
    /// Off by default because it did not pay on the H200 (docs/results/h200-pdl/): b1 unchanged within noise, VGG3 b256
    /// 11% and VGG7 b16 8% slower with programmatic edges.</summary>
    public const string Variable = "HEPBNN_PDL";

    /// <summary>Whether the compiled kernels start with <c>griddepcontrol.wait</c> (see the class comment).</summary>
    public static bool KernelsWait => Decision.KernelsWait;

    /// <summary>Why <see cref="KernelsWait"/> is false (null when it is true).</summary>
    public static string? Reason => Decision.Reason;

    /// <summary>Decided on first use only (it may probe the GPUs): reading the environment switch must not.</summary>
    static class Decision
    {
        public static readonly bool KernelsWait = Decide(Environment.GetEnvironmentVariable(Variable), out Reason);
        public static readonly string? Reason;
    }

    /// <summary>ILGPU 1.5.3 writes <c>.target</c> as the lowest architecture its own features need (sm_80 on an H200:
    /// <c>CudaCapabilityContext.TargetArchitecture</c>), and ptxas rejects <c>griddepcontrol</c> below sm_90. Raising the
    /// target of a device's capabilities (before its kernels compile) changes nothing else: the driver compiles the PTX
    /// for the device it runs on either way. The setter is internal to ILGPU, hence reflection (checked once in
    /// <see cref="Decide"/>, so a different ILGPU turns dependent launch off instead of breaking the kernels).</summary>
    public static void RaiseTarget(CudaCapabilityContext capabilities)
    {
        if (capabilities.TargetArchitecture.Major >= 9) return;
        TargetSetter!.SetValue(capabilities, CudaArchitecture.SM_90);
    }

    static readonly PropertyInfo? TargetSetter = typeof(CudaCapabilityContext).GetProperty(nameof(CudaCapabilityContext.TargetArchitecture)) is { CanWrite: true } p
        && p.PropertyType == typeof(CudaArchitecture) ? p : null;

    /// <summary>Whether the environment asks for programmatic edges by default (<see cref="ExecutionResources.DependentLaunch"/>:
    /// HEPBNN_PDL=1 or force); they are used only where <see cref="KernelsWait"/> also holds.</summary>
    public static bool FromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable)) is Mode.On or Mode.Force;

    /// <summary>True for HEPBNN_PDL=1/on/force, false for 0/off, null when unset: an explicit setting overrides a plan's
    /// measured choice (<see cref="Runtime.Plan.DependentLaunch"/>).</summary>
    public static bool? ExplicitFromEnvironment() => Parse(Environment.GetEnvironmentVariable(Variable)) switch
    {
        Mode.On or Mode.Force => true,
        Mode.Off => false,
        _ => null,
    };

    /// <summary>Device side, the first statement of every kernel that can follow another kernel in a segment: waits for the
    /// predecessor grids (complete, memory flushed), then lets the next kernel launch (<c>griddepcontrol.launch_dependents</c>:
    /// once every block of this grid has passed here, the dependent grid's blocks may become resident and wait in their own
    /// <see cref="Wait"/> while this one computes, so its launch latency is hidden). Before the trigger every block of this
    /// grid is resident, so waiting dependents never hold a slot this grid (or a grid barrier in it) still needs.
    /// Nothing happens on the CPU accelerator or where the kernels do not wait.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Wait()
    {
        if (CudaAsm.IsSupported && Decision.KernelsWait)
        {
            CudaAsm.Emit("griddepcontrol.wait;");
            CudaAsm.Emit("griddepcontrol.launch_dependents;");
        }
    }

    /// <summary>Device side, the alternative first statement: marks a kernel whose first part (the prologue, up to its own
    /// <see cref="Wait"/>) reads only the session's constants (weights, threshold tables, the block's parameters) and writes
    /// only shared memory and registers — nothing a predecessor grid writes, and nothing a predecessor reads. Under a
    /// programmatic edge the prologue then overlaps the predecessor's run (its loads off the dependent path), and only the
    /// activation gathers and stores wait. Compiles to nothing; <see cref="StartsWithWait"/> accepts it like <see cref="Wait"/>,
    /// so the kernel must call <see cref="Wait"/> before its first access to its input or output (checked by review and by
    /// tools/PtxDump with HEPBNN_PDL=force: <c>griddepcontrol.wait</c> precedes the first load of the input parameter).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prologue() { }

    enum Mode { Auto, On, Off, Force }

    static Mode Parse(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => Mode.Auto,
        "1" or "on" or "true" => Mode.On,
        "0" or "off" or "false" => Mode.Off,
        "force" => Mode.Force,
        var other => throw new HepBnnException($"{Variable} must be 1/on/true, 0/off/false or force (got '{other}')"),
    };

    internal static bool Decide(string? value, out string? reason)
    {
        reason = null;
        Mode mode;
        try { mode = Parse(value); }
        catch (HepBnnException e) { reason = e.Message; return false; } // a static initialiser must not throw; the switch re-checks it
        if (mode == Mode.Off) { reason = $"off ({Variable}=0)"; return false; }
        if (TargetSetter is null) { reason = "this ILGPU has no settable CudaCapabilityContext.TargetArchitecture (kernels would target sm_80)"; return false; }
        if (mode == Mode.Force) return true;
        var gpus = GpuDetection.Gpus;
        if (gpus.Count == 0) { reason = "no CUDA GPU"; return false; }
        reason = Unsupported(gpus[0].ComputeCapability, gpus[0].PtxIsa);
        return reason is null;
    }

    /// <summary>Null when a GPU of <paramref name="computeCapability"/> ("9.0") whose kernels ILGPU compiles to PTX ISA
    /// <paramref name="ptxIsa"/> ("8.3") can run <c>griddepcontrol</c>; otherwise why not.</summary>
    internal static string? Unsupported(string computeCapability, string? ptxIsa)
    {
        if (!Version.TryParse(computeCapability, out var cc) || cc.Major < 9)
            return $"the GPU is sm_{computeCapability.Replace(".", "")} (programmatic dependent launch needs sm_90 or newer)";
        if (ptxIsa is null || !Version.TryParse(ptxIsa, out var isa) || isa < new Version(7, 8))
            return $"ILGPU compiles to PTX ISA {ptxIsa ?? "unknown"} (griddepcontrol needs 7.8 or newer)";
        return null;
    }

    /// <summary>True when <paramref name="kernel"/>'s body begins with a call of <see cref="Wait"/> or <see cref="Prologue"/> (after any nops): the
    /// rule every kernel that may be a programmatic dependent follows, checked on its IL so no list can go stale.</summary>
    public static bool StartsWithWait(MethodInfo kernel)
    {
        var il = kernel.GetMethodBody()?.GetILAsByteArray();
        if (il is null) return false;
        int at = 0;
        while (at < il.Length && il[at] == 0x00) at++; // nop (debug builds)
        if (at + 5 > il.Length || il[at] != 0x28) return false; // call <token>
        int token = BitConverter.ToInt32(il, at + 1);
        try { return kernel.Module.ResolveMethod(token) is { } first && (first == WaitMethod || first == PrologueMethod); }
        catch (ArgumentException) { return false; }
    }

    static readonly MethodInfo WaitMethod = typeof(GpuDependentLaunch).GetMethod(nameof(Wait))!;
    static readonly MethodInfo PrologueMethod = typeof(GpuDependentLaunch).GetMethod(nameof(Prologue))!;
}
