namespace HepBnn.Evaluation;

/// <summary>Counts of (true class, predicted class) pairs; rows are true classes, columns predictions.</summary>
public sealed class ConfusionMatrix
{
    readonly long[] _counts;

    public int Classes { get; }

    public ConfusionMatrix(int classes)
    {
        if (classes < 1 || classes > 4096) throw new HepBnnException($"classes {classes} out of range 1..4096");
        Classes = classes;
        _counts = new long[classes * classes];
    }

    public long this[int actual, int predicted] => _counts[actual * Classes + predicted];

    public void Add(int actual, int predicted)
    {
        if ((uint)actual >= (uint)Classes || (uint)predicted >= (uint)Classes)
            throw new HepBnnException($"class pair ({actual}, {predicted}) out of range 0..{Classes - 1}");
        _counts[actual * Classes + predicted]++;
    }

    public long Total => _counts.Sum();
    public long Correct { get { long c = 0; for (int i = 0; i < Classes; i++) c += this[i, i]; return c; } }

    /// <summary>Top-1 accuracy, 0 when empty.</summary>
    public double Accuracy => Total == 0 ? 0 : (double)Correct / Total;

    /// <summary>Images whose true class is <paramref name="actual"/>.</summary>
    public long Support(int actual) { long s = 0; for (int p = 0; p < Classes; p++) s += this[actual, p]; return s; }

    /// <summary>Per-class accuracy (recall): the fraction of the class's images predicted as it; NaN when it has none.</summary>
    public double ClassAccuracy(int actual) => Support(actual) is var s and > 0 ? (double)this[actual, actual] / s : double.NaN;

    /// <summary>Rows as arrays (JSON output).</summary>
    public long[][] Rows() => Enumerable.Range(0, Classes).Select(a => _counts.AsSpan(a * Classes, Classes).ToArray()).ToArray();
}
