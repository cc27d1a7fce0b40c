namespace HepBnn.Formats.Native;

/// <summary>
/// Byte layout of a .hbnn file (all integers little-endian):
/// <code>
///   0  magic "HBNN\r\n\x1a\n" (8 bytes; the CR/LF/^Z bytes catch text-mode and truncating transfers)
///   8  uint32 format version (1)
///  12  uint32 header length H (≤ MaxHeaderBytes)
///  16  header: H bytes of UTF-8 JSON (input shape, layers, blob descriptors, model hash, body length)
///  16+H body: the blobs, contiguous, in layer order (offsets in the header are relative to the body start)
///  end-32 SHA-256 of every byte before it
/// </code>
/// Blobs: binary weights as bits (element i → byte i/8, bit i%8, 1 = +1, unused high bits 0); float64 arrays
/// (BatchNorm γ[C] β[C] μ[C] var[C] ε; normalization offset[C] divisor). See docs/MODEL_FORMATS.md.
/// </summary>
internal static class HbnnLayout
{
    public static ReadOnlySpan<byte> Magic => "HBNN\r\n\x1a\n"u8;
    public const uint Version = 1;
    public const int PrefixBytes = 16;
    public const int ChecksumBytes = 32;
    /// <summary>The JSON header describes layers, not data: 1 MiB is far beyond any real model and bounds what a hostile
    /// header can make the parser allocate.</summary>
    public const int MaxHeaderBytes = 1 << 20;
    /// <summary>Whole files are read into one array; this keeps them within what an array can hold.</summary>
    public static readonly long MaxFileBytes = Array.MaxLength - 64;
    public const int MaxLayers = 4096;
    public const int MaxNameLength = 256;
}
