using System.Runtime.InteropServices;

namespace HepBnn.Devices;

/// <summary>Pins the calling thread to one CPU (Linux <c>sched_setaffinity</c>), for <c>HEPBNN_PIN_WORKERS=1</c>: the
/// worker pool's helpers each on their own CPU of the process's affinity set, so that a static slice's weights and
/// output lines stay in one core's caches run after run and the guest scheduler cannot stack two helpers on one vCPU.
/// Off by default (a measurement switch); elsewhere than Linux it does nothing.</summary>
public static class CpuAffinity
{
    [DllImport("libc", SetLastError = true)]
    static extern int sched_setaffinity(int pid, nint cpusetsize, ulong[] mask);

    [DllImport("libc", SetLastError = true)]
    static extern int sched_getaffinity(int pid, nint cpusetsize, ulong[] mask);

    [DllImport("libc")]
    static extern int sched_getcpu();

    const int MaskWords = 16; // 1,024 CPUs

    /// <summary>The CPUs this process may run on, ascending (empty where unknown).</summary>
    public static int[] AllowedCpus()
    {
        if (!OperatingSystem.IsLinux()) return [];
        var mask = new ulong[MaskWords];
        try { if (sched_getaffinity(0, MaskWords * 8, mask) != 0) return []; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return []; }
        var cpus = new List<int>();
        for (int c = 0; c < MaskWords * 64; c++) if ((mask[c >> 6] >> (c & 63) & 1) != 0) cpus.Add(c);
        return [.. cpus];
    }

    /// <summary>Pins the calling thread to <paramref name="cpu"/>; false when not possible (not Linux, not allowed).</summary>
    public static bool PinCurrentThread(int cpu)
    {
        if (!OperatingSystem.IsLinux() || cpu < 0 || cpu >= MaskWords * 64) return false;
        var mask = new ulong[MaskWords];
        mask[cpu >> 6] = 1UL << (cpu & 63);
        try { return sched_setaffinity(0, MaskWords * 8, mask) == 0; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }

    /// <summary>The CPU the calling thread runs on now (−1 where unknown).</summary>
    public static int CurrentCpu()
    {
        if (!OperatingSystem.IsLinux()) return -1;
        try { return sched_getcpu(); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return -1; }
    }
}
