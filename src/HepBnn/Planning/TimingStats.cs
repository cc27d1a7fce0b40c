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
            samples.Add(TimeOnce(action));
        return From(samples);
    }

    /// <summary>
    /// Measurement whose cost adapts to the action: one cold run (JIT, first touch), a short warm-up only for fast
    /// actions (so tiered compilation reaches optimized code), then as many samples as fit <paramref name="budgetMs"/>
    /// but at least <paramref name="minSamples"/>. A candidate slower than <paramref name="abandonAboveUs"/> (cold run over
    /// twice that, or two warm runs over it) is abandoned early (Abandoned = true): the optimizer cannot pick it, so precision there is wasted time.
    /// </summary>
    public static (TimingStats Stats, bool Abandoned) MeasureAdaptive(Action action, double budgetMs,
        double abandonAboveUs = double.PositiveInfinity, int minSamples = 3, int maxSamples = 200)
    {
        double cold = TimeOnce(action);
        // A long cold run far above the limit is hopeless even allowing for JIT and cold caches. Short actions are never
        // abandoned: their first runs are mostly JIT and unoptimized tier-0 code, and measuring them fully is cheap anyway.
        if (cold > 2 * abandonAboveUs && cold > 20_000) return (From([cold]), true);
        double first = TimeOnce(action);
        // One slow sample may be a hiccup of a busy machine: abandon only when a second one is slow too.
        if (first > abandonAboveUs && first > 1_000)
        {
            double second = TimeOnce(action);
            if (second > abandonAboveUs) return (From([first, second]), true);
            first = second;
        }
        double warmBudgetUs = Math.Min(budgetMs * 250, 20_000);
        for (double warmed = first; warmed + first < warmBudgetUs && warmed < 30 * first; warmed += first)
            first = TimeOnce(action);
        // A long cold run (≥ 50 ms) is a fair sample: JIT and first-touch costs are negligible next to it.
        var samples = cold >= 50_000 ? new List<double> { cold, first } : new List<double> { first };
        var total = Stopwatch.StartNew();
        while (samples.Count < maxSamples && (samples.Count < minSamples || total.Elapsed.TotalMilliseconds < budgetMs))
            samples.Add(TimeOnce(action));
        return (From(samples), false);
    }

    static double TimeOnce(Action action)
    {
        long t0 = Stopwatch.GetTimestamp();
        action();
        return Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
    }

    /// <summary>The same statistics with every value multiplied by <paramref name="factor"/> (e.g. per launch of a repeated sample).</summary>
    public TimingStats Scaled(double factor) => this with { MedianUs = MedianUs * factor, P10Us = P10Us * factor, P90Us = P90Us * factor };

    public override string ToString() => $"{MedianUs:F1} µs [{P10Us:F1}..{P90Us:F1}]";
}
