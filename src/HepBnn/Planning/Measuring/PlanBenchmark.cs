using System.Diagnostics;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Planning;

/// <summary>
/// Whole plans measured end to end through <see cref="InferenceSession"/>, interleaved (A B C, C B A, A B C …) so that
/// drifting machine load (turbo, other processes) hits every plan alike; the median of each plan's runs is reported.
/// </summary>
public static class PlanBenchmark
{
    public static IReadOnlyList<TimingStats> MeasureInterleaved(BnnModel model, IReadOnlyList<Block> blocks,
        IReadOnlyList<IReadOnlyList<string>> plans, int batch, ExecutionResources res, byte[] images,
        double budgetMs, int minRounds = 3, int maxRounds = 1000, Action<int, double>? afterRound = null) =>
        Samples(model, blocks, plans, batch, res, images, budgetMs, minRounds, maxRounds, afterRound).Select(TimingStats.From).ToList();

    /// <summary>Raw samples, [plan][round] in µs: sample r of every plan comes from the same round, for paired comparisons.</summary>
    public static double[][] Samples(BnnModel model, IReadOnlyList<Block> blocks,
        IReadOnlyList<IReadOnlyList<string>> plans, int batch, ExecutionResources res, byte[] images,
        double budgetMs, int minRounds = 3, int maxRounds = 1000, Action<int, double>? afterRound = null,
        Action<int, InferenceSession, int[]>? afterMeasuring = null, IReadOnlyList<bool?>? cudaGraphs = null,
        IReadOnlyList<bool?>? dependentLaunch = null, IReadOnlyList<GpuHostIo?>? hostIo = null)
    {
        // cudaGraphs, dependentLaunch: per plan, SessionOptions.CudaGraphs / .DependentLaunch (null = the resources'
        // setting, e.g. HEPBNN_CUDA_GRAPHS / HEPBNN_PDL).
        if (plans.Count == 0) return [];
        if (images.Length != batch * model.InputShape.Elements) throw new HepBnnException($"{images.Length} image bytes for batch {batch} of {model.InputShape}");
        var sessions = new List<InferenceSession>();
        try
        {
            foreach (var plan in plans)
                sessions.Add(new InferenceSession(model, blocks, plan.Select(ConfigurationRegistry.Find).ToArray(),
                    new SessionOptions { MaxBatch = batch, CudaGraphs = cudaGraphs?[sessions.Count],
                        DependentLaunch = dependentLaunch?[sessions.Count], HostIo = hostIo?[sessions.Count] }, res));
            var scores = new int[batch * sessions[0].ScoresPerImage];
            // Warm-up: one run each (JIT, first touch), a second where runs are cheap compared with the budget.
            var once = sessions.Select(s => Time(s, images, batch, scores)).ToArray();
            double perRound = once.Sum() / 1000;
            var samples = plans.Select(_ => new List<double>()).ToArray();
            int first = 0;
            // Runs of 50 ms and more: the kernels were compiled by the first pass, which is then a fair first round
            // (same order as round 0); such runs are also steady enough that 3 rounds do when the budget is short.
            if (once.Min() >= 50_000)
            {
                for (int p = 0; p < once.Length; p++) samples[p].Add(once[p]);
                first = 1;
                if (perRound * minRounds > 2 * budgetMs) minRounds = Math.Min(minRounds, 3);
            }
            else if (perRound * 2 * minRounds < budgetMs) foreach (var s in sessions) Time(s, images, batch, scores);
            var clock = Stopwatch.StartNew();
            for (int round = first; round < maxRounds && (round < minRounds || clock.Elapsed.TotalMilliseconds < budgetMs); round++)
            {
                for (int j = 0; j < sessions.Count; j++)
                {
                    int p = round % 2 == 0 ? j : sessions.Count - 1 - j;
                    samples[p].Add(Time(sessions[p], images, batch, scores));
                }
                afterRound?.Invoke(round + 1, clock.Elapsed.TotalMilliseconds);
            }
            // The caller may inspect each session after its timed runs (e.g. the scores of a run, or how its GPU blocks ran).
            if (afterMeasuring is not null)
                for (int p = 0; p < sessions.Count; p++)
                {
                    sessions[p].Run(images, batch, scores);
                    afterMeasuring(p, sessions[p], scores);
                }
            return samples.Select(s => s.ToArray()).ToArray();
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    /// <summary>Median over rounds of samples[a][r] / samples[b][r]: how much slower a is than b, robust to load that drifts between rounds.</summary>
    public static double PairedRatio(double[] a, double[] b) =>
        TimingStats.From(a.Zip(b, (x, y) => x / y).ToList()).MedianUs;

    static double Time(InferenceSession session, byte[] images, int batch, int[] scores)
    {
        long t0 = Stopwatch.GetTimestamp();
        session.Run(images, batch, scores);
        return Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
    }
}
