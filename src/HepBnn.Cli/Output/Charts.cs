using HepBnn.Planning;
using HepBnn.Runtime;
using ScottPlot;

namespace HepBnn.Cli.Output;

/// <summary>PNG charts of a verdict: per-block latency of every configuration (chosen one marked) and the plan against the baselines.</summary>
public static class Charts
{
    /// <summary>Writes both charts into <paramref name="dir"/>; returns their paths.</summary>
    public static string[] Write(Verdict verdict, Profile profile, string dir)
    {
        try
        {
            Directory.CreateDirectory(dir);
            string stem = $"{verdict.Model}-b{verdict.Batch}";
            string blocks = Path.Combine(dir, $"{stem}-blocks.png"), plans = Path.Combine(dir, $"{stem}-plans.png");
            BlockLatencies(profile, verdict.Plan).SavePng(blocks, 1200, 600);
            PlanComparison(verdict).SavePng(plans, 1200, 120 + 45 * verdict.Rows.Count(r => r.Measured is not null));
            return [blocks, plans];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new HepBnnException($"cannot write charts to '{dir}': {e.Message}", e);
        }
    }

    /// <summary>Writes the confusion matrix chart (<see cref="ConfusionChart"/>) to <paramref name="path"/>; returns the path.</summary>
    public static string WriteConfusion(HepBnn.Evaluation.ConfusionMatrix cm, IReadOnlyList<string> names, string title, string path)
    {
        try
        {
            if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
            ConfusionChart.Create(cm, names, title).SavePng(path, 900, 800);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new HepBnnException($"cannot write the confusion matrix chart to '{path}': {e.Message}", e);
        }
    }

    /// <summary>Grouped bars, log scale: for each block the isolated median of each configuration; the plan's choice outlined and marked.</summary>
    public static Plot BlockLatencies(Profile profile, Plan plan)
    {
        ChartFonts.Register();
        var plot = new Plot();
        var configs = profile.Blocks.SelectMany(b => b.Configurations).Select(c => c.Configuration).Distinct().ToList();
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / configs.Count;
        double floor = Math.Floor(Math.Log10(Math.Max(0.1, profile.Blocks.SelectMany(b => b.Configurations).Where(c => c.MedianUs > 0).Min(c => c.MedianUs))));
        for (int k = 0; k < configs.Count; k++)
        {
            var bars = new List<Bar>();
            foreach (var b in profile.Blocks)
            {
                var c = b.Configurations.FirstOrDefault(x => x.Configuration == configs[k]);
                if (c is null || !(c.MedianUs > 0)) continue;
                bool chosen = plan.Blocks[b.Index].Configuration == c.Configuration;
                double x = b.Index - 0.4 + width * (k + 0.5);
                bars.Add(new Bar
                {
                    Position = x, Value = Math.Log10(c.MedianUs), ValueBase = floor, Size = width * 0.9,
                    FillColor = palette.GetColor(k).WithAlpha(chosen ? 1.0 : 0.55),
                    LineColor = chosen ? Colors.Black : Colors.Transparent, LineWidth = chosen ? 2 : 0,
                });
                if (chosen) plot.Add.Marker(x, Math.Log10(c.MedianUs) + 0.12, MarkerShape.FilledTriangleDown, 12, Colors.Black);
            }
            var bp = plot.Add.Bars(bars);
            bp.LegendText = configs[k];
        }
        plot.Add.Marker(double.NaN, double.NaN, MarkerShape.FilledTriangleDown, 12, Colors.Black).LegendText = "chosen by the plan";
        plot.Axes.Bottom.SetTicks(profile.Blocks.Select(b => (double)b.Index).ToArray(), profile.Blocks.Select(b => b.Name).ToArray());
        double top = Math.Ceiling(profile.Blocks.SelectMany(b => b.Configurations).Where(c => c.MedianUs > 0).Max(c => Math.Log10(c.MedianUs)) + 0.3);
        var decades = Enumerable.Range((int)floor, (int)(top - floor) + 1).Select(d => (double)d).ToArray();
        plot.Axes.Left.SetTicks(decades, decades.Select(d => FormatUs(Math.Pow(10, d))).ToArray());
        plot.Axes.SetLimits(-0.6, profile.Blocks.Count - 0.4, floor, top);
        plot.Axes.Left.Label.Text = "isolated median latency (log scale)";
        plot.Title($"{profile.Model}, batch {profile.Batch}: per-block latency by configuration");
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Horizontal bars: measured median of each plan (p10..p90 as a whisker), predicted as a marker; the found plan highlighted.</summary>
    public static Plot PlanComparison(Verdict v)
    {
        ChartFonts.Register();
        var plot = new Plot();
        var rows = v.Rows.Where(r => r.Measured is not null).ToList();
        var bars = rows.Select((r, i) => new Bar
        {
            Position = rows.Count - 1 - i, Value = r.Measured!.Value.MedianUs, Size = 0.7,
            FillColor = i == 0 ? Colors.SeaGreen : Colors.SteelBlue.WithAlpha(0.7),
        }).ToList();
        var bp = plot.Add.Bars(bars);
        bp.Horizontal = true;
        for (int i = 0; i < rows.Count; i++)
        {
            var m = rows[i].Measured!.Value;
            double y = rows.Count - 1 - i;
            var whisker = plot.Add.Line(m.P10Us, y, m.P90Us, y);
            whisker.Color = Colors.Black; whisker.LineWidth = 2;
            var predicted = plot.Add.Marker(rows[i].PredictedUs, y, MarkerShape.OpenDiamond, 10, Colors.OrangeRed);
            if (i == 0) predicted.LegendText = "predicted";
        }
        plot.Axes.Left.SetTicks(rows.Select((_, i) => (double)(rows.Count - 1 - i)).ToArray(),
            rows.Select(r => $"{r.Label} ({r.VsPlan:F2}x)").ToArray());
        plot.Axes.Bottom.Label.Text = "measured median latency per batch, µs (whisker: p10..p90)";
        plot.Axes.Margins(left: 0, right: 0.1);
        plot.Title($"{v.Model}, batch {v.Batch}: found plan vs baselines");
        plot.ShowLegend(Alignment.LowerRight);
        return plot;
    }

    static string FormatUs(double us) => us >= 1e6 ? $"{us / 1e6:G3} s" : us >= 1e3 ? $"{us / 1e3:G3} ms" : $"{us:G3} µs";
}
