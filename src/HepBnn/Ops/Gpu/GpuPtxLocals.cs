using System.Reflection;
using System.Text;
using ILGPU.Backends.PTX;
using System.Text.RegularExpressions;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// Rewrites ILGPU's per-operand locals of inline PTX into registers, in the PTX text, before ptxas sees it.
/// <para>Why: ILGPU 1.5.3 passes every <c>CudaAsm.EmitRef</c> operand through its own 4-byte (or 8-byte) <c>.local</c>
/// depot (<c>mov.b64 %rdX, __local_depotN;</c> once, then <c>st.local [%rdX]</c> before the asm and <c>ld.local [%rdX]</c>
/// into its operand register): 14 per MMA, ~700 in a band kernel. ptxas normally promotes them all to registers, but
/// <b>not in a function that contains any <c>cp.async</c></b> (measured with ptxas 13.0 on the band and pipe kernels'
/// PTX, docs/results/h200-conv9: one <c>cp.async.ca</c>, <c>.cg</c> or <c>cp.async.bulk</c> anywhere — even after the
/// last use of every local, even with constant operands — leaves all of them in a ~2.9 KB stack; <c>prefetch</c>,
/// plain loads and stores, <c>mbarrier</c> do not). That made the pipelined band kernel 24x slower than the band kernel
/// (docs/results/h200-pipe8). Here each such depot becomes a register of its width, every store into it a <c>mov</c>
/// into the register and every load from it a <c>mov</c> out of it — what ptxas's promotion does, done before it.</para>
/// <para>A depot is rewritten only when it is provably a scalar: its address register is set exactly once (from the depot
/// symbol) and used only as the whole address of <c>st.local</c>/<c>ld.local</c> of the depot's own width (32 or 64
/// bits), never offset, copied, or passed on; anything else (a byte-written bool read as 32 bits, a struct with fields at
/// offsets, a local array) is left as it was. Register values are then the same as the memory's at every point, so the
/// kernel computes exactly what it computed before.</para>
/// </summary>
public static class GpuPtxLocals
{
    static readonly Regex Declaration = new(@"^\s*\.local \.align \d+ \.b8 (__local_depot\d+)\[(\d+)\];\s*$", RegexOptions.Compiled);
    static readonly Regex AddressOf = new(@"^\s*mov\.b64\s+(%rd\d+), (__local_depot\d+);\s*$", RegexOptions.Compiled);
    static readonly Regex Store = new(@"^\s*st\.local\.b(32|64)\s+\[(%rd\d+)\], ([^\s,;\[\]]+);\s*$", RegexOptions.Compiled);
    static readonly Regex Load = new(@"^\s*ld\.local\.b(32|64)\s+(%\w+), \[(%rd\d+)\];\s*$", RegexOptions.Compiled);
    static readonly Regex Register64 = new(@"%rd\d+\b", RegexOptions.Compiled);
    static readonly Regex RegDeclaration = new(@"^\s*\.reg \.b64\s+%rd<\d+>;\s*$", RegexOptions.Compiled);

    /// <summary>ILGPU 1.5.3 keeps <see cref="PTXCompiledKernel"/>'s constructor internal and its text read-only; the kernel
    /// ILGPU just compiled for us (not shared, not cached) gets the rewritten text in its backing field.</summary>
    static readonly FieldInfo? AssemblyField =
        typeof(PTXCompiledKernel).GetField("<PTXAssembly>k__BackingField", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary><paramref name="kernel"/> (freshly compiled, owned by the caller) with its PTX promoted, ready for
    /// <c>Accelerator.LoadKernel</c>.</summary>
    public static PTXCompiledKernel Promote(PTXCompiledKernel kernel, out int promoted)
    {
        var text = Promote(kernel.PTXAssembly, out promoted);
        if (AssemblyField is null || AssemblyField.FieldType != typeof(string))
            throw new HepBnnException("PTX local promotion: this ILGPU version has no PTXCompiledKernel.PTXAssembly backing field (written for ILGPU 1.5.3)");
        AssemblyField.SetValue(kernel, text);
        if (!ReferenceEquals(kernel.PTXAssembly, text)) throw new HepBnnException("PTX local promotion: ILGPU's PTXCompiledKernel did not take the rewritten PTX");
        return kernel;
    }

    /// <summary>The PTX of one kernel with its scalar local depots as registers; <paramref name="promoted"/>: how many.</summary>
    public static string Promote(string ptx, out int promoted)
    {
        var lines = ptx.Split('\n');
        var size = new Dictionary<string, int>();         // depot → bytes
        var depotOf = new Dictionary<string, string>();   // address register → depot
        var setCount = new Dictionary<string, int>();     // address register → times it is set from a depot
        foreach (var line in lines)
        {
            if (Declaration.Match(line) is { Success: true } d) size[d.Groups[1].Value] = int.Parse(d.Groups[2].Value);
            else if (AddressOf.Match(line) is { Success: true } a)
            {
                depotOf[a.Groups[1].Value] = a.Groups[2].Value;
                setCount[a.Groups[1].Value] = setCount.GetValueOrDefault(a.Groups[1].Value) + 1;
            }
        }

        // A candidate loses on any use that is not a whole-width st.local/ld.local address, or a second definition.
        var candidates = new HashSet<string>(depotOf.Keys.Where(r => setCount[r] == 1 && size.TryGetValue(depotOf[r], out int b) && b is 4 or 8));
        var depotsSeen = depotOf.Values.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        candidates.RemoveWhere(r => depotsSeen.Contains(depotOf[r])); // one address register per depot
        foreach (var line in lines)
        {
            if (AddressOf.IsMatch(line) || !line.Contains("%rd")) continue;
            var store = Store.Match(line);
            var load = store.Success ? Match.Empty : Load.Match(line);
            foreach (Match m in Register64.Matches(line))
            {
                string r = m.Value;
                if (!candidates.Contains(r)) continue;
                bool fine = store.Success
                    ? store.Groups[2].Value == r && store.Groups[3].Value != r && int.Parse(store.Groups[1].Value) == 8 * size[depotOf[r]]
                    : load.Success && load.Groups[3].Value == r && load.Groups[2].Value != r && int.Parse(load.Groups[1].Value) == 8 * size[depotOf[r]];
                if (!fine) candidates.Remove(r);
            }
        }

        var name = new Dictionary<string, string>();
        var depots = new HashSet<string>();
        foreach (var r in candidates.OrderBy(r => r, StringComparer.Ordinal))
        {
            name[r] = size[depotOf[r]] == 4 ? $"%lp{name.Count}" : $"%lq{name.Count}";
            depots.Add(depotOf[r]);
        }
        promoted = name.Count;
        if (promoted == 0) return ptx;

        var output = new StringBuilder(ptx.Length);
        bool declared = false;
        foreach (var line in lines)
        {
            if (Declaration.Match(line) is { Success: true } d && depots.Contains(d.Groups[1].Value)) continue;
            if (AddressOf.Match(line) is { Success: true } a && name.ContainsKey(a.Groups[1].Value)) continue;
            if (Store.Match(line) is { Success: true } s && name.TryGetValue(s.Groups[2].Value, out var sr))
                output.Append($"\tmov.b{s.Groups[1].Value}\t{sr}, {s.Groups[3].Value};\n");
            else if (Load.Match(line) is { Success: true } l && name.TryGetValue(l.Groups[3].Value, out var lr))
                output.Append($"\tmov.b{l.Groups[1].Value}\t{l.Groups[2].Value}, {lr};\n");
            else
            {
                output.Append(line).Append('\n');
                if (!declared && RegDeclaration.IsMatch(line))
                {
                    // One numbered range per width; names not used are harmless to ptxas.
                    output.Append($"\t.reg .b32\t%lp<{name.Count}>;\n\t.reg .b64\t%lq<{name.Count}>;\n");
                    declared = true;
                }
            }
        }
        if (!declared) throw new HepBnnException("PTX local promotion: no .reg .b64 declaration to place the new registers after");
        output.Length--; // the split added no final newline
        return output.ToString();
    }
}
