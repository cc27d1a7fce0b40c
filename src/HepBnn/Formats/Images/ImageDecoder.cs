using SkiaSharp;

namespace HepBnn.Formats.Images;

/// <summary>
/// Decodes PNG and JPEG files with SkiaSharp (the decoder ScottPlot already brings). Hostile files fail with one
/// <see cref="HepBnnException"/>: the encoded size is bounded before reading, the decoded size (from the header) before
/// any pixel is decoded, and a truncated or corrupt stream is refused rather than half-decoded.
/// </summary>
public static class ImageDecoder
{
    public const long MaxFileBytes = 64L << 20;
    public const int MaxSide = 16384;
    public const long MaxPixels = 40_000_000;

    public static DecodedImage Load(string path)
    {
        byte[] bytes;
        try { bytes = BoundedRead.File(path, MaxFileBytes); }
        catch (HepBnnException e) { throw new HepBnnException($"image '{path}': {e.Message}", e); }
        try { return Decode(bytes); }
        catch (HepBnnException e) { throw new HepBnnException($"image '{path}': {e.Message}", e); }
    }

    public static DecodedImage Decode(byte[] encoded)
    {
        if (encoded.Length == 0) throw new HepBnnException("empty file, not an image");
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var created);
        if (codec is null)
            throw new HepBnnException(created == SKCodecResult.IncompleteInput
                ? "image is truncated (its header is incomplete)"
                : $"not a PNG or JPEG image (SkiaSharp: {created})");
        string format = codec.EncodedFormat switch
        {
            SKEncodedImageFormat.Png => "PNG",
            SKEncodedImageFormat.Jpeg => "JPEG",
            var other => throw new HepBnnException($"{other} images are not supported (PNG or JPEG)"),
        };
        int w = codec.Info.Width, h = codec.Info.Height;
        if (w < 1 || h < 1 || w > MaxSide || h > MaxSide || (long)w * h > MaxPixels)
            throw new HepBnnException($"{format} of {w}×{h} pixels exceeds the limit ({MaxSide} per side, {MaxPixels / 1_000_000} megapixels)");
        // A decompression bomb declares far more pixels than its bytes can hold: deflate expands at most 1032:1 and a PNG
        // stores at least one bit per pixel; a JPEG spends a few bits per 8×8 block (2048 pixels per byte is generous).
        // Refused before any pixel is decoded (the fuzzer found 400-byte PNGs decoding to 32 MP, 200 MiB, 3 s).
        long encodable = (format == "PNG" ? 8L * 1032 : 2048L) * encoded.Length;
        if ((long)w * h > encodable)
            throw new HepBnnException($"{format} declares {w}×{h} pixels, more than its {encoded.Length} bytes can encode " +
                                      $"(at most {encodable} pixels): a decompression bomb or a damaged header");
        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[info.BytesSize64];
        SKCodecResult result;
        unsafe
        {
            fixed (byte* p = rgba) result = codec.GetPixels(info, (IntPtr)p);
        }
        if (result != SKCodecResult.Success)
            throw new HepBnnException(result == SKCodecResult.IncompleteInput
                ? $"{format} is truncated (incomplete image data)"
                : $"{format} could not be decoded ({result})");
        return new DecodedImage(w, h, OverWhite(rgba, w * h), format);
    }

    /// <summary>RGBA (unpremultiplied) → RGB with transparent pixels shown over white, as an image viewer shows them.</summary>
    static byte[] OverWhite(byte[] rgba, int pixels)
    {
        var rgb = new byte[pixels * 3];
        for (int i = 0; i < pixels; i++)
        {
            int a = rgba[4 * i + 3];
            for (int c = 0; c < 3; c++)
                rgb[3 * i + c] = (byte)((rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255);
        }
        return rgb;
    }
}
