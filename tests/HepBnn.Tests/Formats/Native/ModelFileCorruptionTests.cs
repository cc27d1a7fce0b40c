using System.Buffers.Binary;
using System.Text.Json.Nodes;
using HepBnn.Formats.Native;

namespace HepBnn.Tests.Formats.Native;

/// <summary>Every class of damaged or hostile .hbnn file fails with one HepBnnException naming the problem.</summary>
public class ModelFileCorruptionTests
{
    static readonly byte[] Good = ModelFile.ToBytes(FormatTestModels.Tiny(1));

    static void Rejects(byte[] file, string expected)
    {
        var e = Assert.Throws<HepBnnException>(() => ModelFile.FromBytes(file));
        Assert.Contains(expected, e.Message);
    }

    static byte[] Copy() => (byte[])Good.Clone();

    [Fact] public void GoodFileLoads() => ModelFile.FromBytes(Good);

    [Fact]
    public void BadMagic()
    {
        var f = Copy();
        f[0] ^= 0x20;
        Rejects(f, "bad magic");
        Rejects("{\"format\":\"hbnn\"}"u8.ToArray(), "bad magic");
        Rejects([], "truncated");
    }

    [Fact]
    public void UnsupportedVersion()
    {
        var f = Copy();
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(8), 2);
        Rejects(HbnnSurgery.Reseal(f), "unsupported .hbnn format version 2");
    }

    [Fact]
    public void HeaderLengthBeyondFileOrLimit()
    {
        var f = Copy();
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(12), (uint)f.Length);
        Rejects(f, "beyond end of file");
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(12), uint.MaxValue);
        Rejects(f, "exceeds the limit");
    }

    [Fact]
    public void TruncatedAtEveryLength()
    {
        for (int n = 0; n < Good.Length; n++)
        {
            var e = Assert.Throws<HepBnnException>(() => ModelFile.FromBytes(Good.AsSpan(0, n)));
            Assert.Matches("truncated|bad magic|beyond end of file|checksum mismatch", e.Message);
        }
    }

    [Fact]
    public void ChecksumMismatch()
    {
        var f = Copy();
        f[f.Length / 2] ^= 1;
        Rejects(f, "checksum mismatch");
        f = Copy();
        f[^1] ^= 1;
        Rejects(f, "checksum mismatch");
    }

    [Fact]
    public void InvalidJson()
    {
        Rejects(HbnnSurgery.Build(Good, "{\"format\": \"hbnn\", ", HbnnSurgery.Body(Good)), "header JSON invalid");
        Rejects(HbnnSurgery.Build(Good, [0xff, 0xfe, 0x7b], HbnnSurgery.Body(Good)), "header JSON invalid");
        Rejects(HbnnSurgery.Build(Good, "{\"format\":\"hbnn\",\"format\":\"hbnn\"}", HbnnSurgery.Body(Good)), "header JSON invalid");
        Rejects(HbnnSurgery.Build(Good, "[1,2,3]", HbnnSurgery.Body(Good)), "expected a JSON object");
        Rejects(HbnnSurgery.Build(Good, new string('[', 100) + new string(']', 100), HbnnSurgery.Body(Good)), "header JSON invalid");
    }

    [Fact]
    public void MissingOrMistypedFields()
    {
        Rejects(HbnnSurgery.EditHeader(Good, h => h.Remove("layers")), "missing 'layers'");
        Rejects(HbnnSurgery.EditHeader(Good, h => h["input"]!["h"] = "28"), "'h' must be an integer");
        Rejects(HbnnSurgery.EditHeader(Good, h => h["input"]!["h"] = 2.5), "'h' must be an integer");
        Rejects(HbnnSurgery.EditHeader(Good, h => h["input"]!["h"] = 1e12), "'h' = 1000000000000 out of range");
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 0)["kind"] = "Relu"), "unknown layer kind");
        Rejects(HbnnSurgery.EditHeader(Good, h => h["format"] = "onnx"), "'format' must be");
    }

    [Fact]
    public void BlobOutsideTheFile()
    {
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 0)["weights"]!["offset"] = long.MaxValue), "outside the body");
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 0)["weights"]!["bytes"] = 1L << 40), "outside the body");
    }

    [Fact]
    public void BodyLengthDisagreesWithTheFile()
    {
        Rejects(HbnnSurgery.EditBody(Good, b => [.. b, 0, 0, 0]), "the file holds");
        Rejects(HbnnSurgery.EditHeader(Good, h => h["bodyBytes"] = 1L << 40), "the file holds");
    }

    [Fact]
    public void WeightCountMismatch()
    {
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 0)["weights"]!["count"] = 53), "weight count mismatch");
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 0)["weights"]!["count"] = long.MaxValue), "weight count mismatch");
    }

    [Fact]
    public void DuplicatedOrOverlappingSections()
    {
        // the second conv's weights pointing at the first conv's bytes: overlapping blobs are refused (no amplification)
        Rejects(HbnnSurgery.EditHeader(Good, h =>
        {
            HbnnSurgery.Layer(h, 3)["weights"]!["offset"] = HbnnSurgery.Layer(h, 0)["weights"]!["offset"]!.GetValue<long>();
        }), "overlaps or skips");
        // a layer listed twice
        Rejects(HbnnSurgery.EditHeader(Good, h =>
        {
            var layers = h["layers"]!.AsArray();
            layers.Insert(1, layers[0]!.DeepClone());
        }), "layer 1 (InputConv2d)");
    }

    [Fact]
    public void NonZeroPaddingBits()
    {
        // layer 0 has 3·3·3·2 = 54 weights: the 7th byte uses 6 bits, set one of the 2 unused ones
        Rejects(HbnnSurgery.EditBody(Good, b => { b[6] |= 0x80; return b; }), "padding bits");
    }

    [Fact]
    public void ShapesInvalidGiveTheValidatorsMessage()
    {
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 1)["size"] = 9), "layer 1 (MaxPool2d): pool size 9");
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 0)["padding"] = 99), "out of range 0..64");
        var plain = ModelFile.ToBytes(FormatTestModels.TinyPlain(1));
        Rejects(HbnnSurgery.EditHeader(plain, h => HbnnSurgery.Layer(h, 0)["kind"] = "BinaryConv2d"), "layer 0 (BinaryConv2d): the first layer must be InputConv2d");
    }

    [Fact]
    public void BatchNormChannelMismatch()
    {
        Rejects(HbnnSurgery.EditHeader(Good, h => HbnnSurgery.Layer(h, 2)["batchNorm"]!["count"] = 4), "has 4 channels, the input has 3");
    }

    [Fact]
    public void ModelHashMismatch()
    {
        Rejects(HbnnSurgery.EditHeader(Good, h => h["modelHash"] = new string('0', 64)), "model hash mismatch");
        // a changed BatchNorm value behind a re-sealed checksum is caught by the model hash
        Rejects(HbnnSurgery.EditBody(Good, b => { b[^1] ^= 0x40; return b; }), "model hash mismatch");
    }

    [Fact]
    public void TooManyLayers()
    {
        Rejects(HbnnSurgery.EditHeader(Good, h =>
        {
            var layers = new JsonArray();
            for (int i = 0; i < 5000; i++) layers.Add(new JsonObject { ["kind"] = "Flatten" });
            h["layers"] = layers;
        }), "more than 4096");
    }

    [Fact]
    public void HugeStreamIsRefusedBeforeReading()
    {
        var e = Assert.Throws<HepBnnException>(() => ModelFile.Load(new FakeHugeStream()));
        Assert.Contains("the limit is", e.Message);
    }

    /// <summary>Claims 1 TB: the reader must refuse it by its length, without allocating.</summary>
    sealed class FakeHugeStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => 1L << 40;
        public override long Position { get; set; }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new InvalidOperationException("must not read");
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
