using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using HepBnn.Formats.Datasets;
using HepBnn.Model;

namespace HepBnn.Evaluation;

/// <summary>
/// Reads a <see cref="LabeledImageStream"/> on its own thread into batches of up to <c>batch</c> images, at most
/// <c>depth</c> of them ahead of the consumer (a bounded pipeline: reader → batches → inference). The reading starts at
/// construction, so it overlaps whatever the caller does next (loading the model, building the session), and the first
/// batch is ready after one batch's read instead of the whole set's (decompressing CIFAR-10's gzip test set whole took
/// 0.19 s on the 2-core machine; the first batch waited for all of it). Memory: depth batch buffers, allocated as the
/// reader gets ahead. A read error reaches the consumer after the batches read before it, at <see cref="Next"/>.
/// </summary>
public sealed class BatchPrefetcher : IDisposable
{
    /// <summary>One buffer of the ring: images [Count][H][W][C] and their labels, Start = index of the first image.</summary>
    public sealed class Batch(int images, int elements)
    {
        public byte[] Images { get; } = new byte[(long)images * elements];
        public byte[] Labels { get; } = new byte[images];
        public int Count { get; internal set; }
        public int Start { get; internal set; }
    }

    readonly LabeledImageStream _stream;
    readonly BlockingCollection<Batch> _full = new(), _free = new();
    readonly CancellationTokenSource _stop = new();
    readonly Thread _reader;
    readonly int _batch, _depth, _limit;
    int _allocated;
    long _readTicks, _waitTicks;
    Exception? _error;

    /// <summary>Seconds the reader thread spent in the stream's reads (decompressing, converting).</summary>
    public double ReadSeconds => (double)Volatile.Read(ref _readTicks) / Stopwatch.Frequency;
    /// <summary>Seconds the consumer waited in <see cref="Next"/> for a batch not yet read.</summary>
    public double WaitSeconds => (double)_waitTicks / Stopwatch.Frequency;

    public const long DefaultBytes = 32L << 20;

    public Shape3 Shape => _stream.Shape;
    public int Classes => _stream.Classes;
    public int BatchSize => _batch;
    public int Depth => _depth;

    /// <summary>Starts reading <paramref name="stream"/> (which it then owns): batches of <paramref name="batch"/>
    /// images, at most <paramref name="depth"/> read ahead, only the first <paramref name="limit"/> images when given.</summary>
    public BatchPrefetcher(LabeledImageStream stream, int batch, int depth, int? limit = null)
    {
        if (batch < 1) throw new HepBnnException($"batch {batch}: expected at least 1 image");
        if (depth < 1) throw new HepBnnException($"prefetch depth {depth}: expected at least 1 batch");
        if (limit is < 1) throw new HepBnnException($"--limit {limit}: expected at least 1 image");
        _stream = stream;
        _batch = batch;
        _depth = depth;
        _limit = limit ?? int.MaxValue;
        _reader = new Thread(ReadAll) { IsBackground = true, Name = "hepbnn-dataset-reader" };
        _reader.Start();
    }

    /// <summary>The depth that keeps about <paramref name="bytes"/> of images in flight (at least 2 batches, so the
    /// next is read while one runs; at most 64). The default, 32 MiB, holds CIFAR-10's whole test set (30 MB): on 2
    /// cores the reader then decodes it while the model loads and the session is built, and does not take a core from
    /// the inference later (each batch read during inference stalls one of its two workers for ~5 ms).</summary>
    public static int DepthFor(Shape3 shape, int batch, long bytes = DefaultBytes) =>
        (int)Math.Clamp(bytes / Math.Max(1, (long)batch * shape.Elements), 2, 64);

    void ReadAll()
    {
        try
        {
            int start = 0;
            while (start < _limit)
            {
                var b = Take();
                int want = Math.Min(_batch, _limit - start);
                long t0 = Stopwatch.GetTimestamp();
                int n = _stream.Read(b.Images.AsSpan(0, checked((int)(want * Shape.Elements))), b.Labels.AsSpan(0, want));
                Volatile.Write(ref _readTicks, _readTicks + Stopwatch.GetTimestamp() - t0);
                if (n == 0) break;
                b.Count = n;
                b.Start = start;
                start += n;
                _full.Add(b);
                if (n < want) break; // the stream gives fewer only at its end
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        catch (Exception e) { _error = e; }
        finally { _full.CompleteAdding(); }
    }

    Batch Take()
    {
        if (_free.TryTake(out var b)) return b;
        if (_allocated < _depth)
        {
            _allocated++;
            return new Batch(_batch, checked((int)Shape.Elements));
        }
        return _free.Take(_stop.Token);
    }

    /// <summary>The next batch in order, or null after the last; rethrows the reader's error (a
    /// <see cref="HepBnnException"/> naming the file) once the batches before it are consumed.</summary>
    public Batch? Next()
    {
        if (_full.TryTake(out var b)) return b;
        long t0 = Stopwatch.GetTimestamp();
        bool got = _full.TryTake(out b, Timeout.Infinite);
        _waitTicks += Stopwatch.GetTimestamp() - t0;
        if (got) return b;
        if (_error is not null) ExceptionDispatchInfo.Capture(_error).Throw();
        return null;
    }

    /// <summary>Hands a consumed batch back for the reader to refill.</summary>
    public void Return(Batch b) => _free.Add(b);

    /// <summary>Stops the reader (it may be blocked waiting for a free buffer) and closes the stream.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        _reader.Join();
        _stream.Dispose();
        _full.Dispose();
        _free.Dispose();
        _stop.Dispose();
    }
}
