using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Planning;

/// <summary>
/// Measures a few candidate plans end to end and fits what the isolated numbers miss (<see cref="CostModel.Fit"/>).
/// Candidates: the best plans by isolated prediction, the best plan on each device alone and the best single
/// configuration; then, if the calibrated optimum was not among them, it is measured too and the fit repeated,
/// so the plan the optimizer finally picks has been seen whole.
/// </summary>
public static class Calibrator
{
    /// <param name="earlier">Points of an earlier calibration of the same model and batch: a plan measured then too keeps
    /// the faster of its two medians (load only ever slows a run down).</param>
    public static Calibration Run(BnnModel model, IReadOnlyList<Block> blocks, Profile profile, ExecutionResources res,
        ProfileOptions options, Action<double>? elapsedMs = null, IReadOnlyList<CalibrationPoint>? earlier = null)
    {
        var iso = CostModel.Build(profile, Calibration.None);
        var plans = new List<string[]>();
        void Add(Mapping? m) { if (m is not null && plans.Count < options.CalibrationPlans && !plans.Any(p => p.SequenceEqual(m.Configurations))) plans.Add(m.Configurations); }
        var top = PlanOptimizer.KBest(iso, 3);
        Add(top.FirstOrDefault());
        foreach (var d in iso.Options.SelectMany(o => o).Select(o => o.Device).Distinct().OrderBy(d => d)) Add(PlanOptimizer.Best(iso, o => o.Device == d));
        Add(BestSingleConfiguration(iso));
        foreach (var m in top.Skip(1)) Add(m);

        var images = ModelZoo.RandomImages(model.InputShape, profile.Batch, options.Seed);
        double budget = options.CalibrationBudgetSeconds * 1000, spent = 0;
        var runs = new List<(IReadOnlyList<string>, double)>();
        void Measure(IReadOnlyList<string[]> batch, double ms)
        {
            var stats = PlanBenchmark.MeasureInterleaved(model, blocks, batch, profile.Batch, res, images, ms,
                afterRound: (_, t) => elapsedMs?.Invoke(spent + t));
            for (int i = 0; i < batch.Count; i++)
            {
                double us = stats[i].MedianUs;
                foreach (var e in earlier ?? []) if (e.Configurations.SequenceEqual(batch[i]) && e.MeasuredUs < us) us = e.MeasuredUs;
                runs.Add((batch[i], us));
            }
        }
        Measure(plans, budget * 0.75);
        spent = budget * 0.75;
        var calibration = CostModel.Fit(profile, runs);
        var best = PlanOptimizer.Best(CostModel.Build(profile, calibration))!;
        if (!plans.Any(p => p.SequenceEqual(best.Configurations)))
        {
            Measure([best.Configurations], budget * 0.25);
            calibration = CostModel.Fit(profile, runs);
        }
        return calibration;
    }

    /// <summary>The one configuration that, used for every block, is predicted fastest (null if none covers all blocks).</summary>
    public static Mapping? BestSingleConfiguration(CostTable table, Func<CostOption, bool>? allow = null)
    {
        var names = table.Options[0].Where(o => allow?.Invoke(o) ?? true).Select(o => o.Configuration)
            .Where(n => table.Options.All(block => block.Any(o => o.Configuration == n)));
        return names.Select(n => Mapping.Of(table, table.Choice(Enumerable.Repeat(n, table.BlockCount).ToArray())))
            .OrderBy(m => m.PredictedUs).FirstOrDefault();
    }
}
