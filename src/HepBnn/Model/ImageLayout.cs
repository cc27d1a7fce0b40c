namespace HepBnn.Model;

/// <summary>
/// The two image layouts a model is fed with: HepBnn's own (8-bit pixels, NHWC, contiguous) and the exported ONNX
/// model's (float32 <c>[N, C, H, W]</c> in raw 0..255 pixel units; docs/MODEL_FORMATS.md). Normalisation is part of the
/// model in both (the first layer's <see cref="InputNormalization"/>), so the conversion only re-lays out values.
/// </summary>
public static class ImageLayout
{
    /// <summary>Checks an ONNX-style input shape <c>[N, C, H, W]</c> against the model's per-image shape; returns N.</summary>
    public static int BatchOf(ReadOnlySpan<int> nchwShape, Shape3 image, long valueCount)
    {
        if (nchwShape.Length != 4)
            throw new HepBnnException($"input shape has {nchwShape.Length} dimensions; expected 4: [N, C, H, W] = [N, {image.C}, {image.H}, {image.W}]");
        if (nchwShape[1] != image.C || nchwShape[2] != image.H || nchwShape[3] != image.W)
            throw new HepBnnException($"input shape [{string.Join(", ", nchwShape.ToArray())}] does not match the model's [N, {image.C}, {image.H}, {image.W}]");
        if (nchwShape[0] < 1) throw new HepBnnException($"input batch {nchwShape[0]} must be at least 1");
        long expected = nchwShape[0] * image.Elements;
        if (valueCount != expected)
            throw new HepBnnException($"input has {valueCount} values; shape [{string.Join(", ", nchwShape.ToArray())}] needs {expected}");
        return nchwShape[0];
    }

    /// <summary>Float NCHW (raw pixel units) → 8-bit NHWC. Every value must be a whole number in 0..255: the engine's
    /// input is 8-bit, and anything else would be silently rounded.</summary>
    public static void NchwToNhwc(ReadOnlySpan<float> nchw, Shape3 s, int batch, Span<byte> nhwc)
    {
        long count = batch * s.Elements;
        if (nchw.Length < count || nhwc.Length < count)
            throw new HepBnnException($"image buffers hold {nchw.Length} and {nhwc.Length} values; {batch} × {s} needs {count}");
        int plane = s.H * s.W;
        for (int n = 0; n < batch; n++)
            for (int c = 0; c < s.C; c++)
            {
                var src = nchw.Slice((n * s.C + c) * plane, plane);
                int dst = n * plane * s.C + c;
                for (int p = 0; p < plane; p++)
                {
                    float v = src[p];
                    if (!(v >= 0 && v <= 255) || v != MathF.Floor(v))
                        throw new HepBnnException($"input value {v} at [n={n}, c={c}, y={p / s.W}, x={p % s.W}] is not a whole pixel value in 0..255 " +
                                                  "(the exported ONNX model takes raw pixel units; normalisation is inside the model)");
                    nhwc[dst + p * s.C] = (byte)v;
                }
            }
    }

    /// <summary>8-bit NHWC → float NCHW (raw pixel units), the exported ONNX model's input.</summary>
    public static void NhwcToNchw(ReadOnlySpan<byte> nhwc, Shape3 s, int batch, Span<float> nchw)
    {
        long count = batch * s.Elements;
        if (nchw.Length < count || nhwc.Length < count)
            throw new HepBnnException($"image buffers hold {nhwc.Length} and {nchw.Length} values; {batch} × {s} needs {count}");
        for (int n = 0; n < batch; n++)
            for (int y = 0; y < s.H; y++)
                for (int x = 0; x < s.W; x++)
                    for (int c = 0; c < s.C; c++)
                        nchw[((n * s.C + c) * s.H + y) * s.W + x] = nhwc[((n * s.H + y) * s.W + x) * s.C + c];
    }

    public static float[] NhwcToNchw(ReadOnlySpan<byte> nhwc, Shape3 s, int batch)
    {
        var result = new float[batch * s.Elements];
        NhwcToNchw(nhwc, s, batch, result);
        return result;
    }
}
