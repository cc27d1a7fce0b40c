namespace HepBnn.Formats.Images;

/// <summary>
/// Separable resampling with a triangle (bilinear) kernel widened by the scale factor when shrinking (as Pillow's
/// antialiased BILINEAR): every source pixel contributes by its coverage, so a large photo shrunk to 28×28 is averaged,
/// not aliased; enlarging is plain bilinear. Works on interleaved 8-bit channels.
/// </summary>
public static class ImageResampler
{
    public static byte[] Resize(byte[] src, int width, int height, int channels, int newWidth, int newHeight)
    {
        if (src.Length != (long)width * height * channels) throw new HepBnnException($"image buffer has {src.Length} bytes, expected {width}×{height}×{channels}");
        var horizontal = new float[height * newWidth * channels];
        var wx = Weights(width, newWidth);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < newWidth; x++)
            {
                var (first, w) = wx[x];
                for (int c = 0; c < channels; c++)
                {
                    float s = 0;
                    for (int k = 0; k < w.Length; k++) s += w[k] * src[(y * width + first + k) * channels + c];
                    horizontal[(y * newWidth + x) * channels + c] = s;
                }
            }
        var result = new byte[newWidth * newHeight * channels];
        var wy = Weights(height, newHeight);
        for (int y = 0; y < newHeight; y++)
        {
            var (first, w) = wy[y];
            for (int x = 0; x < newWidth; x++)
                for (int c = 0; c < channels; c++)
                {
                    float s = 0;
                    for (int k = 0; k < w.Length; k++) s += w[k] * horizontal[((first + k) * newWidth + x) * channels + c];
                    result[(y * newWidth + x) * channels + c] = (byte)Math.Clamp(MathF.Round(s), 0, 255);
                }
        }
        return result;
    }

    /// <summary>For each output index: the first source index and the normalised weights of the sources it covers.</summary>
    static (int First, float[] W)[] Weights(int inSize, int outSize)
    {
        double scale = (double)inSize / outSize, support = Math.Max(1.0, scale);
        var table = new (int, float[])[outSize];
        for (int o = 0; o < outSize; o++)
        {
            double center = (o + 0.5) * scale;
            int lo = Math.Max(0, (int)Math.Floor(center - support)), hi = Math.Min(inSize - 1, (int)Math.Ceiling(center + support));
            var w = new float[hi - lo + 1];
            double sum = 0;
            for (int i = lo; i <= hi; i++)
            {
                double d = Math.Abs(i + 0.5 - center) / support;
                double v = Math.Max(0, 1 - d);
                w[i - lo] = (float)v;
                sum += v;
            }
            if (sum <= 0) { w = new float[hi - lo + 1]; w[Math.Clamp((int)center - lo, 0, hi - lo)] = 1; sum = 1; }
            for (int i = 0; i < w.Length; i++) w[i] = (float)(w[i] / sum);
            table[o] = (lo, w);
        }
        return table;
    }
}
