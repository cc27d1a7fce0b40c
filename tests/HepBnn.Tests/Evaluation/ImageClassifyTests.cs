using System.Buffers.Binary;
using HepBnn.Evaluation;
using HepBnn.Formats.Images;
using HepBnn.Formats.Native;
using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;
using SkiaSharp;

namespace HepBnn.Tests.Evaluation;

/// <summary>Photos to model inputs: PNG/JPEG decoding (SkiaSharp), resizing, grey conversion with inversion, top-k with
/// softmax and the model's class names; hostile files fail with one clear error before any large allocation.</summary>
public sealed class ImageClassifyTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("hepbnn-images-").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>An image of w×h: background colour, a filled rectangle in the middle third.</summary>
    string Encode(string name, int w, int h, SKColor background, SKColor box, SKEncodedImageFormat format, int quality = 100)
    {
        using var bmp = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bmp.SetPixel(x, y, x >= w / 3 && x < 2 * w / 3 && y >= h / 3 && y < 2 * h / 3 ? box : background);
        using var data = bmp.Encode(format, quality);
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    [Fact]
    public void PngDecodesExactly()
    {
        var im = ImageDecoder.Load(Encode("a.png", 9, 6, new SKColor(10, 20, 30), new SKColor(200, 150, 100), SKEncodedImageFormat.Png));
        Assert.Equal(("PNG", 9, 6), (im.Format, im.Width, im.Height));
        Assert.Equal(new byte[] { 10, 20, 30 }, im.Rgb[..3]);
        int centre = (3 * 9 + 4) * 3;
        Assert.Equal(new byte[] { 200, 150, 100 }, im.Rgb[centre..(centre + 3)]);
    }

    [Fact]
    public void JpegDecodesClosely()
    {
        var im = ImageDecoder.Load(Encode("a.jpg", 48, 48, new SKColor(40, 90, 160), new SKColor(40, 90, 160), SKEncodedImageFormat.Jpeg));
        Assert.Equal("JPEG", im.Format);
        for (int i = 0; i < im.Rgb.Length; i += 3)
        {
            Assert.InRange(im.Rgb[i], 34, 46);
            Assert.InRange(im.Rgb[i + 1], 84, 96);
            Assert.InRange(im.Rgb[i + 2], 154, 166);
        }
    }

    [Fact]
    public void TransparentPixelsAreWhite()
    {
        var im = ImageDecoder.Load(Encode("t.png", 6, 6, new SKColor(0, 0, 0, 0), new SKColor(0, 0, 0, 255), SKEncodedImageFormat.Png));
        Assert.Equal(new byte[] { 255, 255, 255 }, im.Rgb[..3]);
        Assert.Equal(new byte[] { 0, 0, 0 }, im.Rgb[((2 * 6 + 2) * 3)..((2 * 6 + 2) * 3 + 3)]);
    }

    [Fact]
    public void ResamplingAveragesWhenShrinkingAndKeepsFlatImagesFlat()
    {
        // 2×2 blocks of a checkerboard shrunk by 2 → every output sees equal parts of 0 and 255 around it
        var checker = new byte[56 * 56];
        for (int y = 0; y < 56; y++) for (int x = 0; x < 56; x++) checker[y * 56 + x] = (byte)(((x + y) & 1) * 255);
        var small = ImageResampler.Resize(checker, 56, 56, 1, 28, 28);
        Assert.All(small[(28 * 2)..^(28 * 2)], v => Assert.InRange(v, 120, 135));
        var flat = Enumerable.Repeat((byte)77, 5 * 3 * 3).ToArray();
        Assert.All(ImageResampler.Resize(flat, 5, 3, 3, 32, 32), v => Assert.Equal(77, v));
        Assert.All(ImageResampler.Resize(Enumerable.Repeat((byte)200, 1000 * 700).ToArray(), 1000, 700, 1, 28, 28), v => Assert.Equal(200, v));
    }

    [Fact]
    public void GreyConversionInvertsLightBackgrounds()
    {
        // a black box on white, as a product photo: inverted so that the object is light on black, as in Fashion-MNIST
        var photo = ImageDecoder.Load(Encode("shoe.png", 90, 60, SKColors.White, SKColors.Black, SKEncodedImageFormat.Png));
        var c = ModelInputConverter.Convert(photo, new Shape3(28, 28, 1));
        Assert.True(c.Inverted);
        Assert.Contains("inverted (light background", c.Description);
        Assert.Equal(784, c.Input.Length);
        Assert.Equal(0, c.Input[0]);              // padded border: black after inversion
        Assert.Equal(255, c.Input[14 * 28 + 14]); // the box: white
        var kept = ModelInputConverter.Convert(photo, new Shape3(28, 28, 1), InvertMode.No);
        Assert.False(kept.Inverted);
        Assert.Equal(255, kept.Input[0]);
        var dark = ModelInputConverter.Convert(ImageDecoder.Load(Encode("dark.png", 30, 30, SKColors.Black, SKColors.White, SKEncodedImageFormat.Png)), new Shape3(28, 28, 1));
        Assert.False(dark.Inverted);
        Assert.Equal(255, dark.Input[14 * 28 + 14]);
    }

    [Fact]
    public void RgbConversionCropsTheCentre()
    {
        // 96×32: the centre crop is the middle 32×32, whose middle third is the box colour
        var photo = ImageDecoder.Load(Encode("wide.png", 96, 32, new SKColor(0, 0, 255), new SKColor(255, 0, 0), SKEncodedImageFormat.Png));
        var c = ModelInputConverter.Convert(photo, new Shape3(32, 32, 3));
        Assert.Equal(32 * 32 * 3, c.Input.Length);
        Assert.Contains("centre crop 32×32", c.Description);
        Assert.Equal(new byte[] { 255, 0, 0 }, c.Input[((16 * 32 + 16) * 3)..((16 * 32 + 16) * 3 + 3)]);
        Assert.Equal(new byte[] { 0, 0, 255 }, c.Input[..3]); // top row: outside the box's rows
    }

    /// <summary>Top-k equals the reference's scores on the converted input, names come from the model file.</summary>
    [Fact]
    public void ClassifyUsesTheModelsClassNames()
    {
        var names = new[] { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" };
        var model = ModelFile.FromBytes(ModelFile.ToBytes(ModelZoo.Vgg3(2).WithClassNames(names)));
        Assert.Equal(names, model.ClassNames);
        string png = Encode("x.png", 40, 40, SKColors.White, new SKColor(60, 60, 60), SKEncodedImageFormat.Png);
        string jpg = Encode("x.jpg", 64, 50, SKColors.Black, SKColors.LightGray, SKEncodedImageFormat.Jpeg, 90);
        foreach (var path in new[] { png, jpg })
        {
            var input = ModelInputConverter.Convert(ImageDecoder.Load(path), model.InputShape).Input;
            using var s = new InferenceSession(model, "cpu.simd256");
            var scores = new double[10];
            s.Run(input, 1, scores);
            var top = ClassScores.Top(scores, 3, model.ClassName);
            var reference = ReferenceEngine.Scores(model, input);
            Assert.Equal(InferenceSession.ArgMax(reference), top[0].Class);
            Assert.Equal(names[top[0].Class], top[0].Name);
            Assert.True(top[0].Score >= top[1].Score && top[1].Score >= top[2].Score);
            Assert.Equal(ClassScores.Softmax(scores)[top[1].Class], top[1].Probability, 12);
        }
        Assert.Equal("class 3", ModelZoo.Vgg3(2).ClassName(3));
    }

    [Fact]
    public void SoftmaxIsStableAndTiesKeepTheLowerClass()
    {
        var p = ClassScores.Softmax([1000, 1000, -1000]);
        Assert.Equal(0.5, p[0], 12);
        Assert.Equal(0, p[2], 12);
        var top = ClassScores.Top([2, 5, 5, 1], 3, i => $"c{i}");
        Assert.Equal([1, 2, 0], top.Select(t => t.Class));
    }

    [Fact]
    public void ClassNamesInTheModelFile()
    {
        var m = ModelZoo.Vgg3(1);
        Assert.Null(ModelFile.FromBytes(ModelFile.ToBytes(m)).ClassNames);
        Assert.Contains("10 classes but 2 class names", Assert.Throws<HepBnnException>(() => m.WithClassNames(["a", "b"])).Message);
        Assert.Contains("class name 1", Assert.Throws<HepBnnException>(() => m.WithClassNames(Enumerable.Range(0, 10).Select(i => i == 1 ? "" : $"c{i}").ToArray())).Message);
        // names are metadata: the plan-binding hash does not change
        Assert.Equal(ModelHash.Compute(m), ModelHash.Compute(m.WithClassNames(Enumerable.Range(0, 10).Select(i => $"c{i}").ToArray())));
    }

    static uint Crc32(ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320 & (uint)-(int)(c & 1));
        }
        return ~c;
    }

    /// <summary>A PNG whose header claims w×h (valid CRC) followed by a tiny IDAT.</summary>
    static byte[] PngHeader(uint w, uint h)
    {
        var ms = new MemoryStream();
        ms.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        void Chunk(string type, byte[] data)
        {
            var len = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(len, (uint)data.Length); ms.Write(len);
            var body = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
            ms.Write(body);
            var crc = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32(body)); ms.Write(crc);
        }
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
        Chunk("IHDR", ihdr);
        Chunk("IDAT", [0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01]);
        Chunk("IEND", []);
        return ms.ToArray();
    }

    [Fact]
    public void HostileImagesFailBeforeDecoding()
    {
        string Fails(string name, byte[] bytes)
        {
            string path = Path.Combine(_dir, name);
            File.WriteAllBytes(path, bytes);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var e = Assert.Throws<HepBnnException>(() => ImageDecoder.Load(path));
            Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, $"{name}: allocated too much");
            Assert.Contains(path, e.Message);
            return e.Message;
        }
        Assert.Contains("exceeds the limit", Fails("huge.png", PngHeader(16000, 16000)));
        Assert.Contains("exceeds the limit", Fails("wide.png", PngHeader(100_000, 1)));
        // within the size limits, but a 4000×4000 image in a few dozen bytes: refused before decoding
        Assert.Contains("decompression bomb", Fails("bomb.png", PngHeader(4000, 4000)));
        Assert.Contains("not a PNG or JPEG", Fails("text.png", "hello, not an image"u8.ToArray()));
        Assert.Contains("empty file", Fails("empty.jpg", []));
        var good = File.ReadAllBytes(Encode("good.png", 64, 64, SKColors.Red, SKColors.Blue, SKEncodedImageFormat.Png));
        Assert.Contains("truncated", Fails("cut.png", good[..(good.Length * 2 / 3)]));
        var jpeg = File.ReadAllBytes(Encode("good.jpg", 64, 64, SKColors.Red, SKColors.Blue, SKEncodedImageFormat.Jpeg, 80));
        Assert.Contains("truncated", Fails("cut.jpg", jpeg[..(jpeg.Length / 2)]));
        Assert.Contains("truncated", Fails("cut-late.jpg", jpeg[..(jpeg.Length * 9 / 10)]));
        using (var bmp = new SKBitmap(4, 4)) File.WriteAllBytes(Path.Combine(_dir, "x.webp"), bmp.Encode(SKEncodedImageFormat.Webp, 90).ToArray());
        Assert.Contains("not supported", Assert.Throws<HepBnnException>(() => ImageDecoder.Load(Path.Combine(_dir, "x.webp"))).Message);
        Assert.Contains("not found", Assert.Throws<HepBnnException>(() => ImageDecoder.Load(Path.Combine(_dir, "missing.png"))).Message);
    }
}
