namespace HepBnn.Formats.Images;

/// <summary>A decoded image: 8-bit RGB, row-major, 3 bytes per pixel (alpha already composited over white).</summary>
public sealed record DecodedImage(int Width, int Height, byte[] Rgb, string Format);
