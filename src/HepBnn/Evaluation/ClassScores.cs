namespace HepBnn.Evaluation;

/// <summary>One class with its final score and the softmax probability of the scores.</summary>
public sealed record ClassScore(int Class, string Name, double Score, double Probability);

/// <summary>Softmax and top-k over one image's final scores (the model's output; ties keep the lower class first,
/// as <see cref="Runtime.InferenceSession.ArgMax"/>).</summary>
public static class ClassScores
{
    public static double[] Softmax(ReadOnlySpan<double> scores)
    {
        if (scores.Length == 0) throw new HepBnnException("no scores");
        double max = double.NegativeInfinity;
        foreach (var s in scores) max = Math.Max(max, s);
        var p = new double[scores.Length];
        double sum = 0;
        for (int i = 0; i < p.Length; i++) sum += p[i] = Math.Exp(scores[i] - max);
        for (int i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    public static ClassScore[] Top(ReadOnlySpan<double> scores, int k, Func<int, string> name)
    {
        var p = Softmax(scores);
        var s = scores.ToArray();
        return Enumerable.Range(0, s.Length).OrderByDescending(i => s[i]).ThenBy(i => i).Take(Math.Max(1, k))
            .Select(i => new ClassScore(i, name(i), s[i], p[i])).ToArray();
    }
}
