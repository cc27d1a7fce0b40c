using HepBnn.Model;

namespace HepBnn.Formats.Datasets;

/// <summary>A labelled image set as the engine consumes it: 8-bit images NHWC, contiguous (<see cref="Runtime.InferenceSession"/>
/// input layout), one label byte per image.</summary>
public sealed class LabeledImages
{
    public Shape3 Shape { get; }
    /// <summary>[Count][H][W][C] bytes.</summary>
    public byte[] Images { get; }
    public byte[] Labels { get; }
    /// <summary>Number of classes; every label is below it.</summary>
    public int Classes { get; }
    public int Count => Labels.Length;

    public LabeledImages(Shape3 shape, byte[] images, byte[] labels, int classes)
    {
        if (images.LongLength != labels.LongLength * shape.Elements)
            throw new HepBnnException($"{labels.Length} labels need {labels.LongLength * shape.Elements} image bytes of shape {shape}, got {images.LongLength}");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= classes) throw new HepBnnException($"label {i} is {labels[i]}, expected 0..{classes - 1}");
        Shape = shape;
        Images = images;
        Labels = labels;
        Classes = classes;
    }

    /// <summary>Images [start, start + count) as one contiguous NHWC batch.</summary>
    public ReadOnlySpan<byte> Batch(int start, int count) =>
        Images.AsSpan(checked((int)(start * Shape.Elements)), checked((int)(count * Shape.Elements)));

    public ReadOnlySpan<byte> Image(int index) => Batch(index, 1);
}
