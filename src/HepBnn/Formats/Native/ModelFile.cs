using HepBnn.Model;

namespace HepBnn.Formats.Native;

/// <summary>
/// The native model file (.hbnn): a versioned binary file with a small JSON header, packed ±1 weights, float64
/// BatchNorm and normalization parameters, the model's content hash and a SHA-256 checksum of the whole file
/// (layout: <see cref="HbnnLayout"/>, docs/MODEL_FORMATS.md). Saving then loading gives a model with the same
/// <see cref="ModelHash"/>. Loading a damaged or hostile file fails with one <see cref="HepBnnException"/> naming the
/// problem, and never allocates more than a small multiple of the file's size.
/// </summary>
public static class ModelFile
{
    public const string Extension = ".hbnn";

    public static byte[] ToBytes(BnnModel model) => HbnnWriter.Write(model);

    public static BnnModel FromBytes(ReadOnlySpan<byte> bytes) => HbnnReader.Read(bytes);

    /// <summary>True when <paramref name="prefix"/> starts with the .hbnn magic.</summary>
    public static bool HasMagic(ReadOnlySpan<byte> prefix) =>
        prefix.Length >= HbnnLayout.Magic.Length && prefix[..HbnnLayout.Magic.Length].SequenceEqual(HbnnLayout.Magic);

    public static void Save(BnnModel model, Stream stream)
    {
        var bytes = ToBytes(model);
        try { stream.Write(bytes); }
        catch (IOException e) { throw new HepBnnException($"cannot write the model: {e.Message}", e); }
    }

    /// <summary>Writes to a uniquely named temporary file next to <paramref name="path"/> and renames it (<see cref="AtomicFile"/>),
    /// so a crash never leaves half a model and concurrent saves never collide.</summary>
    public static void Save(BnnModel model, string path)
    {
        AtomicFile.Write(path, ToBytes(model), "model file");
    }

    public static BnnModel Load(Stream stream) => FromBytes(BoundedRead.All(stream, HbnnLayout.MaxFileBytes, "model"));

    public static BnnModel Load(string path)
    {
        try { return FromBytes(BoundedRead.File(path, HbnnLayout.MaxFileBytes)); }
        catch (HepBnnException e) { throw new HepBnnException($"model file '{path}': {e.Message}", e); }
    }
}
