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
        var run = new Run(count, classes, maxBatch);
        for (int start = 0; start < count; start += maxBatch)
        {
            int b = Math.Min(maxBatch, count - start);
            run.Batch(session, data.Batch(start, b), data.Labels.AsSpan(start, b), start);
            progress?.Invoke(start + b);
        }
        return run.Result(data.Labels[..count]);
    }

    /// <summary>Evaluates the batches of <paramref name="batches"/> as they arrive (their size at most the session's
    /// <see cref="InferenceSession.MaxBatch"/>); the labels are checked batch by batch. The inference seconds count
    /// the session's Run calls only, not the waits for the reader.</summary>
    public static EvaluationResult Evaluate(InferenceSession session, BatchPrefetcher batches, string dataName = "dataset",
                                            Action<int>? progress = null)
    {
        var model = session.Model;
        if (batches.Shape != model.InputShape)
            throw new HepBnnException($"{dataName}: images are {batches.Shape} (H×W×C) but model '{model.Name}' takes {model.InputShape}");
        if (batches.BatchSize > session.MaxBatch)
            throw new HepBnnException($"{dataName}: batches of {batches.BatchSize} images exceed the session's maximum batch {session.MaxBatch}");
        int classes = session.ScoresPerImage;
        var run = new Run(0, classes, session.MaxBatch);
        var labels = new List<byte>();
        int done = 0;
        while (batches.Next() is { } b)
        {
            var batchLabels = b.Labels.AsSpan(0, b.Count);
            for (int n = 0; n < b.Count; n++)
                if (batchLabels[n] >= classes)
                    throw new HepBnnException($"{dataName}: image {b.Start + n} has label {batchLabels[n]}, model '{model.Name}' has only {classes} classes (0..{classes - 1})");
            run.Batch(session, b.Images.AsSpan(0, checked((int)(b.Count * model.InputShape.Elements))), batchLabels, b.Start);
            labels.AddRange(batchLabels);
            done += b.Count;
            batches.Return(b);
            progress?.Invoke(done);
        }
        if (done == 0) throw new HepBnnException($"{dataName}: no images");
        return run.Result(labels.ToArray());
    }

    /// <summary>The state of one evaluation: predictions, confusion matrix, inference time.</summary>
    sealed class Run(int capacity, int classes, int maxBatch)
    {
        int[] _predictions = new int[capacity];
        readonly double[] _scores = new double[maxBatch * classes];
        readonly ConfusionMatrix _confusion = new(classes);
        long _ticks;
        int _count;

        public void Batch(InferenceSession session, ReadOnlySpan<byte> images, ReadOnlySpan<byte> labels, int start)
        {
            int b = labels.Length;
            if (start + b > _predictions.Length) Array.Resize(ref _predictions, Math.Max(start + b, 2 * _predictions.Length));
            long t0 = Stopwatch.GetTimestamp();
            session.Run(images, b, _scores.AsSpan(0, b * classes));
            _ticks += Stopwatch.GetTimestamp() - t0;
            for (int n = 0; n < b; n++)
            {
                int p = _predictions[start + n] = InferenceSession.ArgMax(_scores.AsSpan(n * classes, classes));
                _confusion.Add(labels[n], p);
            }
            _count = Math.Max(_count, start + b);
        }

        public EvaluationResult Result(byte[] labels) =>
            new(_predictions.Length == _count ? _predictions : _predictions[.._count], labels, _confusion, (double)_ticks / Stopwatch.Frequency);
    }
}
