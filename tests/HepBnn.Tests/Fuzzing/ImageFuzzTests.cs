using System.Buffers.Binary;
using HepBnn.Formats.Images;
using SkiaSharp;

namespace HepBnn.Tests.Fuzzing;

/// <summary>Mutation fuzzing of the PNG/JPEG decoder of eval/classify through its file entry point: truncated, corrupted
/// and huge-declaring images (width/height in the PNG IHDR — CRC recomputed so the check behind it is reached — and in
/// the JPEG SOF). Allocation is bounded by the decoder's documented pixel limit, not by the input size: a 100-byte
/// header may declare up to <see cref="ImageDecoder.MaxPixels"/> pixels, refused only once its data runs out.</summary>
[Trait("Category", "Fuzz")]
public class ImageFuzzTests(ITestOutputHelper output)
{
    static byte[] Encode(SKEncodedImageFormat format, int w, int h, int seed)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var r = new Random(seed);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)r.Next(256), (byte)(x * 9), (byte)(y * 7), (byte)(seed % 2 == 0 ? 255 : r.Next(256))));
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }

    [Fact]
    public void PngAndJpeg()
    {
        var seeds = new List<byte[]>
        {
            Encode(SKEncodedImageFormat.Png, 4, 3, 1), Encode(SKEncodedImageFormat.Png, 28, 28, 2), Encode(SKEncodedImageFormat.Png, 9, 17, 3),
            Encode(SKEncodedImageFormat.Jpeg, 8, 8, 4), Encode(SKEncodedImageFormat.Jpeg, 32, 32, 6), Encode(SKEncodedImageFormat.Jpeg, 13, 5, 8),
        };
        using var scratch = new FuzzScratch();
        var options = FuzzSettings.Options(null, MutateHeader) with
        {
            AllocationSlackBytes = ImageDecoder.MaxPixels * 7 + (16 << 20), // RGBA + RGB of the largest accepted image
        };
        var fuzzer = new MutationFuzzer("image", seeds, b => ImageDecoder.Load(scratch.Write("image", b)), options);
        FuzzSettings.Check(output, fuzzer.Run(FuzzSettings.Cases));
    }

    /// <summary>Sets the declared width and height to random (often huge) values.</summary>
    static (byte[], string) MutateHeader(byte[] seed, Random r)
    {
        var b = (byte[])seed.Clone();
        uint Pick() => r.Next(4) switch { 0 => (uint)r.Next(1, 64), 1 => (uint)r.Next(1, 20_000), 2 => uint.MaxValue - (uint)r.Next(4), _ => (uint)r.Next() };
        if (b.Length > 33 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G')
        {
            uint w = Pick(), h = Pick();
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(16), w);
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(20), h);
            BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(29), Crc32(b.AsSpan(12, 17))); // IHDR type + data
            return (b, $"png {w}x{h}");
        }
        for (int i = 2; i + 9 < b.Length; i++)
            if (b[i] == 0xFF && b[i + 1] is 0xC0 or 0xC2)
            {
                ushort h = (ushort)Pick(), w = (ushort)Pick();
                BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(i + 5), h);
                BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(i + 7), w);
                return (b, $"jpeg {w}x{h}");
            }
        return (b, "unchanged");
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte x in data)
        {
            crc ^= x;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320 & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
