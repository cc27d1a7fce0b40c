using HepBnn.Model;

namespace HepBnn.Formats.Datasets;

/// <summary>
/// A labelled image set read in order, a batch at a time, in the engine's layout (8-bit NHWC images, one label byte
/// each): what `hepbnn eval` consumes, so that the first batch runs as soon as it is read instead of after the whole
/// set, with memory bounded by the batches in flight. Bad data fail with a <see cref="HepBnnException"/> at the read
/// that meets them (a CIFAR-10 record with a bad label, a truncated gzip file: after the images before it were handed out).
/// </summary>
public abstract class LabeledImageStream : IDisposable
{
    public abstract Shape3 Shape { get; }
    /// <summary>Every label is below it.</summary>
    public abstract int Classes { get; }

    /// <summary>Reads the next images, as many as fit (<c>images.Length / Shape.Elements</c>, at most
    /// <c>labels.Length</c>), fewer only at the end of the set; returns how many (0 at the end).</summary>
    public abstract int Read(Span<byte> images, Span<byte> labels);

    public virtual void Dispose() { }

    /// <summary>The images that fit both buffers.</summary>
    protected int Capacity(Span<byte> images, Span<byte> labels) =>
        (int)Math.Min(labels.Length, images.Length / Shape.Elements);
}

/// <summary>A set already in memory (IDX files, read whole: Fashion-MNIST's test set is 7.8 MB), streamed from its arrays.</summary>
public sealed class InMemoryImageStream(LabeledImages set) : LabeledImageStream
{
    int _next;

    public override Shape3 Shape => set.Shape;
    public override int Classes => set.Classes;

    public override int Read(Span<byte> images, Span<byte> labels)
    {
        int n = Math.Min(Capacity(images, labels), set.Count - _next);
        if (n <= 0) return 0;
        set.Batch(_next, n).CopyTo(images);
        set.Labels.AsSpan(_next, n).CopyTo(labels);
        _next += n;
        return n;
    }
}
