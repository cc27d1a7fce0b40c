using System.Buffers.Binary;
using HepBnn.Model;

namespace HepBnn.Formats.Datasets;

/// <summary>
/// IDX files (MNIST / Fashion-MNIST: <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>, <c>t10k-…</c>):
/// magic 0x00 0x00 &lt;type&gt; &lt;dims&gt;, then one big-endian int32 per dimension, then the data. Only unsigned bytes
/// (type 0x08) are read; files may be gzip-compressed (as distributed). Every size is checked against the file length before anything is allocated, so a hostile
/// header cannot make the reader allocate more than the file holds.
/// </summary>
public static class IdxReader
{
    const byte UnsignedByte = 0x08;

    /// <summary>Images (idx3: count × rows × cols → NHWC with C = 1) with their labels (idx1).</summary>
    public static LabeledImages Read(string imagesPath, string labelsPath, int classes = 10)
    {
        if (classes < 1 || classes > 256) throw new HepBnnException($"classes {classes} out of range 1..256");
        var (imageDims, images) = ReadUnsignedBytes(imagesPath, 3);
        var (labelDims, labels) = ReadUnsignedBytes(labelsPath, 1);
        if (imageDims[0] != labelDims[0])
            throw new HepBnnException($"{imagesPath} holds {imageDims[0]} images but {labelsPath} holds {labelDims[0]} labels");
        if (imageDims[1] > ModelValidator.MaxDim || imageDims[2] > ModelValidator.MaxDim)
            throw new HepBnnException($"{imagesPath}: images of {imageDims[1]}x{imageDims[2]} exceed {ModelValidator.MaxDim} pixels per side");
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= classes) throw new HepBnnException($"{labelsPath}: label {i} is {labels[i]}, expected 0..{classes - 1}");
        return new LabeledImages(new Shape3(imageDims[1], imageDims[2], 1), images, labels, classes);
    }

    /// <summary>The dimensions and data of an IDX file (raw or gzip-compressed) of unsigned bytes with
    /// <paramref name="expectedDims"/> dimensions.</summary>
    public static (int[] Dims, byte[] Data) ReadUnsignedBytes(string path, int expectedDims)
    {
        var file = DatasetFile.ReadAll(path, Array.MaxLength);
        var (dims, offset) = ParseHeader(file, path, expectedDims);
        return (dims, offset == 0 ? file : file.AsSpan(offset).ToArray());
    }

    /// <summary>Checks the header against the bytes actually there; returns the dimensions and where the data start.</summary>
    static (int[] Dims, int Offset) ParseHeader(ReadOnlySpan<byte> file, string path, int expectedDims)
    {
        long length = file.Length;
        if (length < 4) throw new HepBnnException($"{path}: {length} bytes is too short for an IDX file");
        var magic = file[..4];
        if (magic[0] != 0 || magic[1] != 0)
            throw new HepBnnException($"{path}: not an IDX file (magic 0x{BinaryPrimitives.ReadUInt32BigEndian(magic):X8}, expected 0x0000TTDD)");
        if (magic[2] != UnsignedByte) throw new HepBnnException($"{path}: IDX element type 0x{magic[2]:X2} is not supported (only 0x08, unsigned byte)");
        if (magic[3] != expectedDims) throw new HepBnnException($"{path}: IDX file has {magic[3]} dimensions, expected {expectedDims}");
        int header = 4 + 4 * expectedDims;
        if (length < header) throw new HepBnnException($"{path}: truncated header ({length} bytes, the header alone needs {header})");
        var dims = new int[expectedDims];
        for (int i = 0; i < expectedDims; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(file[(4 + 4 * i)..]);
            if (d == 0 || d > int.MaxValue) throw new HepBnnException($"{path}: dimension {i} is {d}, expected 1..{int.MaxValue}");
            dims[i] = (int)d;
        }
        long available = length - header, count = 1;
        foreach (int d in dims)
        {
            // count ≤ available before each multiply, so it cannot overflow; stop as soon as it exceeds the file.
            if (count > available / d)
                throw new HepBnnException($"{path}: truncated: header claims {string.Join(" x ", dims)} bytes of data, the file holds {available}");
            count *= d;
        }
        if (count != available)
            throw new HepBnnException(count < available
                ? $"{path}: {available - count} unexpected bytes after the {count} bytes of data"
                : $"{path}: truncated: header claims {count} bytes of data, the file holds {available}");
        return (dims, header);
    }
}
