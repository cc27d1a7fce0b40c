using HepBnn.Evaluation;
using ScottPlot;

namespace HepBnn.Cli.Output;

/// <summary>The confusion matrix as a PNG heat map: colour = fraction of the true class's images, text = counts.</summary>
public static class ConfusionChart
{
    public static Plot Create(ConfusionMatrix cm, IReadOnlyList<string> names, string title)
    {
        int k = cm.Classes;
        var fractions = new double[k, k];
        for (int a = 0; a < k; a++)
        {
            long support = cm.Support(a);
            for (int p = 0; p < k; p++) fractions[a, p] = support > 0 ? (double)cm[a, p] / support : 0;
        }
        var plot = new Plot();
        var colormap = new ScottPlot.Colormaps.Blues();
        for (int a = 0; a < k; a++)
            for (int p = 0; p < k; p++)
            {
                // Blues runs dark → light; 1 − fraction makes a full row dark and an empty cell white
                var r = plot.Add.Rectangle(p - 0.5, p + 0.5, a - 0.5, a + 0.5);
                r.FillColor = colormap.GetColor(1 - fractions[a, p]);
                r.LineColor = Colors.LightGray;
                r.LineWidth = 0.5f;
                if (cm[a, p] == 0) continue;
                var t = plot.Add.Text(cm[a, p].ToString(), p, a);
                t.LabelAlignment = Alignment.MiddleCenter;
                t.LabelFontSize = k <= 12 ? 13 : 8;
                t.LabelFontColor = fractions[a, p] > 0.5 ? Colors.White : Colors.Black;
            }
        var ticks = Enumerable.Range(0, k).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, names.Select(n => n.Length <= 11 ? n : n[..10] + "…").ToArray());
        plot.Axes.Left.SetTicks(ticks, names.ToArray());
        plot.Axes.Bottom.Label.Text = "predicted class (shade: fraction of the true class's images)";
        plot.Axes.Left.Label.Text = "true class";
        plot.Axes.SetLimits(-0.5, k - 0.5, k - 0.5, -0.5); // row 0 at the top
        plot.Title($"{title}: {100 * cm.Accuracy:F2}% top-1 ({cm.Correct}/{cm.Total})");
        return plot;
    }
}
