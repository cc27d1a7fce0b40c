using System.Diagnostics;

namespace HepBnn.Devices;

/// <summary>
/// Where a session run's host time goes (HEPBNN_HOST_TIMING=1, off by default: then every call is one test of a static
/// readonly field): timestamps at <see cref="Phase.Entry"/> (Run called), <see cref="Phase.Staged"/> (input in the
/// page-locked staging buffer), <see cref="Phase.Launched"/> (the first GPU segment's graph launch returned),
/// <see cref="Phase.Completed"/> (its completion observed) and <see cref="Phase.Exit"/> (scores returned). One process-wide
/// record of up to <see cref="Capacity"/> runs, for one session run at a time (`hepbnn run` resets it before its timed runs).
/// </summary>
public static class HostPathTiming
{
    public enum Phase { Entry, Staged, Launched, Completed, Exit }

    public const int Capacity = 1 << 16;
    const int Phases = 5;

    public static readonly bool Enabled = EnvironmentSwitches.HostTiming;
    static readonly long[] Stamps = new long[Enabled ? Capacity * Phases : 0];
    static int _run = -1;

    /// <summary>Starts the record of one run (its <see cref="Phase.Entry"/>).</summary>
    public static void Begin()
    {
        if (!Enabled || _run + 1 >= Capacity) return;
        int row = ++_run * Phases;
        Array.Clear(Stamps, row, Phases);
        Stamps[row] = Stopwatch.GetTimestamp();
    }

    /// <summary>Records <paramref name="phase"/> of the current run, the first time only (a later GPU segment of the same
    /// run does not overwrite the first segment's launch and completion).</summary>
    public static void Mark(Phase phase)
    {
        if (!Enabled || _run < 0) return;
        ref long slot = ref Stamps[_run * Phases + (int)phase];
        if (slot == 0) slot = Stopwatch.GetTimestamp();
    }

    public static void Reset() => _run = -1;

    /// <summary>Median µs of each step between consecutive recorded phases ("Entry→Staged", …), over the runs that recorded
    /// both ends; a step whose later phase no run recorded (no GPU segment) is left out, the next one then starts earlier.</summary>
    public static IReadOnlyDictionary<string, double> Medians()
    {
        var result = new Dictionary<string, double>();
        if (!Enabled || _run < 0) return result;
        for (int from = 0; from < Phases - 1;)
        {
            int to = from + 1;
            while (to < Phases && !Recorded(to)) to++;
            if (to == Phases) break;
            var us = new List<double>();
            for (int r = 0; r <= _run; r++)
            {
                long a = Stamps[r * Phases + from], b = Stamps[r * Phases + to];
                if (a != 0 && b != 0) us.Add((b - a) * 1e6 / Stopwatch.Frequency);
            }
            if (us.Count > 0) result[$"{(Phase)from}→{(Phase)to}"] = us.Order().ElementAt(us.Count / 2); // Devices comes before Planning's TimingStats
            from = to;
        }
        return result;
    }

    static bool Recorded(int phase)
    {
        for (int r = 0; r <= _run; r++) if (Stamps[r * Phases + phase] != 0) return true;
        return false;
    }
}
