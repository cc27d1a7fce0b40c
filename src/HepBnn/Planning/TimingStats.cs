using System.Diagnostics;

namespace HepBnn.Planning;

/// <summary>Median and spread of repeated measurements, in microseconds.</summary>
public readonly record struct TimingStats(double MedianUs, double P10Us, double P90Us, int Samples)
{
    public static TimingStats From(IReadOnlyList<double> microseconds)
    {
        if (microseconds.Count == 0) return new(double.NaN, double.NaN, double.NaN, 0);
        var s = microseconds.Order().ToArray();
        double At(double q) => s[Math.Min(s.Length - 1, (int)Math.Round(q * (s.Length - 1)))];
        return new(At(0.5), At(0.1), At(0.9), s.Length);
    }

    /// <summary>Runs <paramref name="action"/> after warm-up until both the minimum count and the time budget are reached.</summary>
    public static TimingStats Measure(Action action, int warmup = 3, int minSamples = 7, int maxSamples = 200, double budgetMs = 200)
    {
        for (int i = 0; i < warmup; i++) action();
        var samples = new List<double>(minSamples);
        var total = Stopwatch.StartNew();
        while (samples.Count < maxSamples && (samples.Count < minSamples || total.Elapsed.TotalMilliseconds < budgetMs))
        {
            long t0 = Stopwatch.GetTimestamp();
            action();
            samples.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }
        return From(samples);
    }

    public override string ToString() => $"{MedianUs:F1} µs [{P10Us:F1}..{P90Us:F1}]";
}
