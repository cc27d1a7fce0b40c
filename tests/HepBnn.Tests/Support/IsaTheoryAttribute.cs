using System.Runtime.Intrinsics.X86;
using HepBnn.Ops;

namespace HepBnn.Tests.Support;

/// <summary>A theory over configurations that need one instruction set: reported as skipped, with the reason, on a CPU
/// without it (xunit 2 has no per-row skip, so the configurations are grouped by what they need).</summary>
public sealed class IsaTheoryAttribute : TheoryAttribute
{
    public IsaTheoryAttribute(string isa)
    {
        bool present = isa switch
        {
            "" => true,
            "POPCNT" => Popcnt.X64.IsSupported,
            "AVX2" => Avx2.IsSupported,
            "AVX-512BW" => Avx512BW.IsSupported,
            _ => throw new ArgumentException($"unknown instruction set '{isa}'"),
        };
        if (!present) Skip = $"this CPU lacks {isa} ({HepBnn.Devices.CpuFeatures.Detect().SimdSummary})";
    }

    /// <summary>Names of the CPU configurations that need <paramref name="isa"/>.</summary>
    public static TheoryData<string> Configs(string isa)
    {
        var names = HepBnn.Ops.ConfigurationRegistry.Cpu.OfType<HepBnn.Ops.Cpu.CpuConfiguration>().Where(c => c.RequiredIsa == isa).Select(c => c.Name).ToList();
        if (names.Count == 0) throw new InvalidOperationException($"no CPU configuration needs '{isa}'");
        return [.. names];
    }
}
