using System.Diagnostics;
using HepBnn.Formats.Datasets;
using HepBnn.Runtime;

namespace HepBnn.Evaluation;

/// <summary>What one evaluation of a model on a labelled image set found.</summary>
public sealed record EvaluationResult(
    int[] Predictions,
    byte[] Labels,
    ConfusionMatrix Confusion,
    /// <summary>Seconds spent in inference (the session's Run calls), not reading the data.</summary>
    double InferenceSeconds)
{
    public int Count => Predictions.Length;
    public double Accuracy => Confusion.Accuracy;
    public double ImagesPerSecond => InferenceSeconds > 0 ? Count / InferenceSeconds : double.PositiveInfinity;
}

/// <summary>
/// Runs a session over a labelled image set in batches and counts top-1 hits. The prediction of an image is the arg-max
/// of its final scores (lowest index on ties, <see cref="InferenceSession.ArgMax"/>), a function of the integer scores
/// only: it is the same whichever configuration, plan or device ran the session.
/// </summary>
public static class DatasetEvaluator
{
    /// <summary>Checks that <paramref name="data"/> fits the session's model: input shape and label range.</summary>
    public static void CheckCompatible(InferenceSession session, LabeledImages data, string dataName)
    {
        var model = session.Model;
        if (data.Shape != model.InputShape)
            throw new HepBnnException($"{dataName}: images are {data.Shape} (H×W×C) but model '{model.Name}' takes {model.InputShape}");
        int classes = session.ScoresPerImage;
        for (int i = 0; i < data.Count; i++)
            if (data.Labels[i] >= classes)
                throw new HepBnnException($"{dataName}: image {i} has label {data.Labels[i]}, model '{model.Name}' has only {classes} classes (0..{classes - 1})");
    }

    /// <summary>Evaluates the first <paramref name="limit"/> images (all when null) in batches of up to the session's
    /// <see cref="InferenceSession.MaxBatch"/>; <paramref name="progress"/> gets the count done after each batch.</summary>
    public static EvaluationResult Evaluate(InferenceSession session, LabeledImages data, int? limit = null,
                                            string dataName = "dataset", Action<int>? progress = null)
    {
        CheckCompatible(session, data, dataName);
        if (limit is < 1) throw new HepBnnException($"--limit {limit}: expected at least 1 image");
        int count = Math.Min(data.Count, limit ?? int.MaxValue);
        if (count == 0) throw new HepBnnException($"{dataName}: no images");
        int classes = session.ScoresPerImage, maxBatch = session.MaxBatch;
        var predictions = new int[count];
        var scores = new double[maxBatch * classes];
        var confusion = new ConfusionMatrix(classes);
        long ticks = 0;
        for (int start = 0; start < count; start += maxBatch)
        {
            int b = Math.Min(maxBatch, count - start);
            long t0 = Stopwatch.GetTimestamp();
            session.Run(data.Batch(start, b), b, scores.AsSpan(0, b * classes));
            ticks += Stopwatch.GetTimestamp() - t0;
            for (int n = 0; n < b; n++)
            {
                int p = predictions[start + n] = InferenceSession.ArgMax(scores.AsSpan(n * classes, classes));
                confusion.Add(data.Labels[start + n], p);
            }
            progress?.Invoke(start + b);
        }
        return new EvaluationResult(predictions, data.Labels[..count], confusion, (double)ticks / Stopwatch.Frequency);
    }
}
