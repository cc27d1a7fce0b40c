using HepBnn.Model;

namespace HepBnn.Reference;

/// <summary>One sample's activations as plain float64 values, NHWC.</summary>
public sealed record RefTensor(Shape3 Shape, double[] Values)
{
    public double this[int y, int x, int c] => Values[(y * Shape.W + x) * Shape.C + c];

    public static RefTensor FromImage(Shape3 shape, ReadOnlySpan<byte> pixels)
    {
        var v = new double[shape.Elements];
        for (int i = 0; i < v.Length; i++) v[i] = pixels[i];
        return new RefTensor(shape, v);
    }
}
