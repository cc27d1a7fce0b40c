using System.Runtime.Intrinsics.X86;
using System.Text;

namespace HepBnn.Devices;

/// <summary>What this CPU offers the binary kernels, detected at run time.</summary>
public sealed record CpuFeatures(string Model, int LogicalCores, bool Popcnt, bool Avx2, bool Avx512BW, bool Avx512Vpopcntdq)
{
    public static CpuFeatures Detect() => new(ReadModelName(), Environment.ProcessorCount, System.Runtime.Intrinsics.X86.Popcnt.X64.IsSupported,
        System.Runtime.Intrinsics.X86.Avx2.IsSupported, System.Runtime.Intrinsics.X86.Avx512BW.IsSupported, HasVpopcntdq());

    public string SimdSummary => string.Join(", ", new[] { ("POPCNT", Popcnt), ("AVX2", Avx2), ("AVX-512BW", Avx512BW), ("AVX-512 VPOPCNTDQ", Avx512Vpopcntdq) }
        .Where(f => f.Item2).Select(f => f.Item1));

    /// <summary>CPUID leaf 7, ECX bit 14. (.NET 10 has no intrinsic for the instruction itself; reported for information.)</summary>
    static bool HasVpopcntdq()
    {
        if (!X86Base.IsSupported) return false;
        var (_, _, ecx, _) = X86Base.CpuId(7, 0);
        return (ecx & (1 << 14)) != 0;
    }

    static string ReadModelName()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        if (!X86Base.IsSupported) return System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
        var sb = new StringBuilder();
        for (int leaf = unchecked((int)0x80000002); leaf <= unchecked((int)0x80000004); leaf++)
        {
            var (a, b, c, d) = X86Base.CpuId(leaf, 0);
            foreach (var r in new[] { a, b, c, d }) sb.Append(Encoding.ASCII.GetString(BitConverter.GetBytes(r)));
        }
        return sb.ToString().Trim('\0', ' ');
    }
}
