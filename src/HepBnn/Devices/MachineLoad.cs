namespace HepBnn.Devices;

/// <summary>The 1-minute load average (Linux /proc/loadavg; NaN elsewhere): reported next to measurements, because on a
/// busy machine latency medians say more about the other processes than about the plan.</summary>
public static class MachineLoad
{
    public static double OneMinute()
    {
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
            return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return double.NaN;
        }
    }
}
