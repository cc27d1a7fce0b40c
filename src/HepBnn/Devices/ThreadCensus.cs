using System.Globalization;
using System.Runtime;

namespace HepBnn.Devices;

/// <summary>A cheap look at this process's threads around a measurement (Linux /proc/self/task; empty elsewhere), for
/// telling a "slow-mode" process apart: on the 16-vCPU Xeon host one process in a few ran VGG3 b1 at ~2x its usual
/// latency (28 vs 15 µs) with nothing else changed. Per thread: name, the CPU it last ran on, CPU time and voluntary /
/// involuntary context switches. Between two snapshots the involuntary switches of the pool's workers say whether they
/// were preempted (another runnable thread on their CPU: time sharing, not the vCPU speed), and the last CPUs whether two
/// busy threads sat on one CPU. Reading is ~0.1 ms per snapshot: never inside a timed loop.</summary>
public sealed class ThreadCensus
{
    public sealed record ThreadState(int Tid, string Name, int LastCpu, long CpuTicks, long Voluntary, long Involuntary);

    public IReadOnlyList<ThreadState> Threads { get; }
    public int CallerTid { get; }
    public long TakenAt { get; }

    ThreadCensus(IReadOnlyList<ThreadState> threads, int callerTid)
    {
        Threads = threads; CallerTid = callerTid; TakenAt = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>No threads (what <see cref="Take"/> gives where /proc is not readable).</summary>
    public static ThreadCensus Empty { get; } = new([], -1);

    /// <summary>The threads now (none where /proc is not readable); the calling thread is recorded as the caller.</summary>
    public static ThreadCensus Take()
    {
        var list = new List<ThreadState>();
        int caller = -1;
        try
        {
            if (Directory.ResolveLinkTarget("/proc/thread-self", false)?.FullName is { } self && int.TryParse(Path.GetFileName(self), out int t)) caller = t;
            foreach (var dir in Directory.EnumerateDirectories("/proc/self/task"))
                if (int.TryParse(Path.GetFileName(dir), out int tid) && Read(dir, tid) is { } s) list.Add(s);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException) { }
        return new ThreadCensus(list, caller);
    }

    static ThreadState? Read(string dir, int tid)
    {
        try
        {
            // stat: "tid (comm) S ..." — comm may hold spaces or parentheses, so fields count from the last ')'
            string stat = File.ReadAllText(Path.Combine(dir, "stat"));
            int open = stat.IndexOf('('), close = stat.LastIndexOf(')');
            if (open < 0 || close < open) return null;
            string name = stat[(open + 1)..close];
            var f = stat[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries); // f[0] = field 3 (state)
            if (f.Length < 37) return null;
            long utime = long.Parse(f[11], CultureInfo.InvariantCulture), stime = long.Parse(f[12], CultureInfo.InvariantCulture);
            int cpu = int.Parse(f[36], CultureInfo.InvariantCulture); // field 39: processor last run on
            long vol = 0, invol = 0;
            foreach (var line in File.ReadLines(Path.Combine(dir, "status")))
            {
                if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal)) vol = long.Parse(line[24..].Trim(), CultureInfo.InvariantCulture);
                else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal)) invol = long.Parse(line[27..].Trim(), CultureInfo.InvariantCulture);
            }
            return new ThreadState(tid, name, cpu, utime + stime, vol, invol);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or OverflowException) { return null; }
    }

    /// <summary>One line on what happened to the threads between <paramref name="before"/> and <paramref name="after"/>:
    /// the pool workers (threads named <paramref name="workerPrefix"/>*) and the caller — how many were busy, on how many
    /// distinct CPUs they were last seen, CPUs seen holding two busy threads, their involuntary switches (total and
    /// worst thread) — the other threads' CPU time, and the runtime's GC / tiering settings. Null where /proc is absent.</summary>
    public static string? Summary(ThreadCensus before, ThreadCensus after, string workerPrefix = "hepbnn-cpu-")
    {
        if (before.Threads.Count == 0 || after.Threads.Count == 0) return null;
        var old = before.Threads.ToDictionary(t => t.Tid);
        double seconds = (after.TakenAt - before.TakenAt) / (double)System.Diagnostics.Stopwatch.Frequency;
        long tick = 100; // USER_HZ on Linux
        var deltas = after.Threads.Where(t => old.ContainsKey(t.Tid)).Select(t =>
        {
            var o = old[t.Tid];
            return (T: t, Cpu: (t.CpuTicks - o.CpuTicks) / (double)tick, Invol: t.Involuntary - o.Involuntary, Vol: t.Voluntary - o.Voluntary);
        }).ToList();
        var team = deltas.Where(d => d.T.Name.StartsWith(workerPrefix, StringComparison.Ordinal) || d.T.Tid == after.CallerTid).ToList();
        var busy = team.Where(d => d.Cpu >= 0.1 * seconds).ToList();
        int distinct = busy.Select(d => d.T.LastCpu).Distinct().Count();
        int shared = busy.GroupBy(d => d.T.LastCpu).Count(g => g.Count() > 1);
        var worst = team.OrderByDescending(d => d.Invol).FirstOrDefault();
        var caller = deltas.FirstOrDefault(d => d.T.Tid == after.CallerTid);
        var others = deltas.Where(d => !team.Contains(d)).OrderByDescending(d => d.Cpu).ToList();
        double otherCpu = others.Sum(d => d.Cpu);
        string top = others.Count > 0 && others[0].Cpu > 0 ? $" (most: {others[0].T.Name} {others[0].Cpu * 1000:F0} ms)" : "";
        // the environment variable wins over the runtimeconfig.json value (.NET 9 and later)
        static string Knob(string env, string property) =>
            Environment.GetEnvironmentVariable(env) is { Length: > 0 } e ? $"{e} (environment)" : AppContext.GetData(property)?.ToString() ?? "default";
        string pgo = Knob("DOTNET_TieredPGO", "System.Runtime.TieredPGO"), tiered = Knob("DOTNET_TieredCompilation", "System.Runtime.TieredCompilation");
        return string.Create(CultureInfo.InvariantCulture,
            $"threads over {seconds:F1} s: {team.Count} of the pool's (caller included), {busy.Count} busy on {distinct} distinct CPUs last seen" +
            $" ({shared} CPUs with 2+ busy), involuntary switches {team.Sum(d => d.Invol)} (worst {worst.T?.Name} {worst.Invol}; caller {caller.Invol} on CPU {caller.T?.LastCpu})," +
            $" voluntary {team.Sum(d => d.Vol)}; other threads {others.Count}, {otherCpu * 1000:F0} ms CPU{top};" +
            $" GC {(GCSettings.IsServerGC ? "server" : "workstation")} {GCSettings.LatencyMode}, {GC.CollectionCount(0)} gen0 so far; TieredCompilation {tiered}, TieredPGO {pgo}");
    }
}
