using HepBnn.Model;

namespace HepBnn.Formats.Images;

/// <summary>How <see cref="ModelInputConverter"/> treats polarity for a grey model.</summary>
public enum InvertMode { Auto, Yes, No }

/// <summary>What the conversion did, for the user to see.</summary>
public sealed record ConvertedImage(byte[] Input, bool Inverted, string Description);

/// <summary>
/// Turns a decoded photo into a model input (NHWC bytes of the model's input shape):
/// 1 channel (Fashion-MNIST-like): grey (ITU-R BT.601 luma), padded to a square with its border colour, resized;
/// Fashion-MNIST shows light objects on a black background, so with <see cref="InvertMode.Auto"/> an image whose
/// border is light (a product photo on white) is inverted. 3 channels (CIFAR-like): the centred square crop, resized.
/// </summary>
public static class ModelInputConverter
{
    public static ConvertedImage Convert(DecodedImage image, Shape3 input, InvertMode invert = InvertMode.Auto)
    {
        if (input.C == 3) return Rgb(image, input);
        if (input.C == 1) return Grey(image, input, invert);
        throw new HepBnnException($"the model takes {input.C}-channel images; only 1 (grey) or 3 (RGB) channels can be made from a photo");
    }

    static ConvertedImage Rgb(DecodedImage im, Shape3 input)
    {
        // crop to the input's aspect ratio around the centre, then resize
        var (cw, ch) = Fit(im.Width, im.Height, input.W, input.H, crop: true);
        int x0 = (im.Width - cw) / 2, y0 = (im.Height - ch) / 2;
        var crop = new byte[cw * ch * 3];
        for (int y = 0; y < ch; y++) im.Rgb.AsSpan(((y0 + y) * im.Width + x0) * 3, cw * 3).CopyTo(crop.AsSpan(y * cw * 3));
        var resized = ImageResampler.Resize(crop, cw, ch, 3, input.W, input.H);
        return new ConvertedImage(resized, false, $"{im.Format} {im.Width}×{im.Height} → centre crop {cw}×{ch} → RGB {input.W}×{input.H}");
    }

    static ConvertedImage Grey(DecodedImage im, Shape3 input, InvertMode invert)
    {
        var grey = new byte[im.Width * im.Height];
        for (int i = 0; i < grey.Length; i++)
            grey[i] = (byte)Math.Round(0.299 * im.Rgb[3 * i] + 0.587 * im.Rgb[3 * i + 1] + 0.114 * im.Rgb[3 * i + 2]);
        double border = BorderMean(grey, im.Width, im.Height);
        bool inverted = invert == InvertMode.Yes || (invert == InvertMode.Auto && border > 127.5);
        if (inverted) for (int i = 0; i < grey.Length; i++) grey[i] = (byte)(255 - grey[i]);
        byte fill = (byte)Math.Round(inverted ? 255 - border : border);
        // Fashion-MNIST's objects fill their frame (the product photos were trimmed, then the longest side scaled to 28):
        // trim the background around the object, pad to the input's aspect ratio with it, then resize
        var (tx, ty, tw, th) = Trim(grey, im.Width, im.Height, fill);
        var (pw, ph) = Fit(tw, th, input.W, input.H, crop: false);
        var padded = new byte[pw * ph];
        Array.Fill(padded, fill);
        int x0 = (pw - tw) / 2, y0 = (ph - th) / 2;
        for (int y = 0; y < th; y++) grey.AsSpan((ty + y) * im.Width + tx, tw).CopyTo(padded.AsSpan((y0 + y) * pw + x0));
        var resized = ImageResampler.Resize(padded, pw, ph, 1, input.W, input.H);
        string why = invert switch
        {
            InvertMode.Auto => inverted ? $"inverted (light background, border mean {border:F0}; the model expects light objects on black)"
                                        : $"not inverted (dark background, border mean {border:F0})",
            InvertMode.Yes => "inverted (--invert yes)",
            _ => "not inverted (--invert no)",
        };
        return new ConvertedImage(resized, inverted, $"{im.Format} {im.Width}×{im.Height} → grey, {why} → {(tw == im.Width && th == im.Height ? "" : $"object {tw}×{th} → ")}padded {pw}×{ph} → {input.W}×{input.H}");
    }

    /// <summary>The largest (crop) or smallest (pad) rectangle of the target's aspect ratio inside/around w×h.</summary>
    static (int W, int H) Fit(int w, int h, int tw, int th, bool crop)
    {
        // compare w/h with tw/th without rounding: w·th vs h·tw
        bool wider = (long)w * th > (long)h * tw;
        int widthForH = (int)Math.Round((double)h * tw / th), heightForW = (int)Math.Round((double)w * th / tw);
        if (crop) return wider ? (Math.Clamp(widthForH, 1, w), h) : (w, Math.Clamp(heightForW, 1, h));
        return wider ? (w, Math.Max(h, heightForW)) : (Math.Max(w, widthForH), h);
    }

    /// <summary>The bounding box of the pixels that differ from the background by more than a little (JPEG noise);
    /// the whole image when none does.</summary>
    static (int X, int Y, int W, int H) Trim(byte[] g, int w, int h, byte background)
    {
        const int Tolerance = 24;
        int x0 = w, y0 = h, x1 = -1, y1 = -1;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (Math.Abs(g[y * w + x] - background) > Tolerance)
                {
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                }
        return x1 < 0 ? (0, 0, w, h) : (x0, y0, x1 - x0 + 1, y1 - y0 + 1);
    }

    static double BorderMean(byte[] g, int w, int h)
    {
        long sum = 0, n = 0;
        for (int x = 0; x < w; x++) { sum += g[x] + g[(h - 1) * w + x]; n += 2; }
        for (int y = 1; y < h - 1; y++) { sum += g[y * w] + g[y * w + w - 1]; n += 2; }
        return (double)sum / n;
    }
}
