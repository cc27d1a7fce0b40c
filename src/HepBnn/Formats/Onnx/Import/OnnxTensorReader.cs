using System.Buffers.Binary;
using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>TensorProto → <see cref="ConstTensor"/>. Dims are checked against the data actually present before anything
/// is allocated, so a tensor never costs more than a small multiple of its bytes in the file.</summary>
internal static class OnnxTensorReader
{
    public const int Float = 1, Uint8 = 2, Int8 = 3, Uint16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, Bool = 9, Float16 = 10,
        Double = 11, Uint32 = 12, Uint64 = 13, BFloat16 = 16;

    /// <summary>Element type name for messages.</summary>
    public static string TypeName(int t) => t switch
    {
        Float => "float", Uint8 => "uint8", Int8 => "int8", Uint16 => "uint16", Int16 => "int16", Int32 => "int32", Int64 => "int64",
        8 => "string", Bool => "bool", Float16 => "float16", Double => "double", Uint32 => "uint32", Uint64 => "uint64", BFloat16 => "bfloat16",
        _ => $"type {t}",
    };

    public static ConstTensor Read(TensorProto t, string where)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
            throw new HepBnnException($"{where}: weights in external data files are not supported; save the model with its weights inside the .onnx file");
        if (t.Segment is not null) throw new HepBnnException($"{where}: segmented tensors are not supported");
        var dims = t.Dims.ToArray();
        if (dims.Length > 8) throw new HepBnnException($"{where}: rank {dims.Length} is not supported (at most 8)");
        int size = ElementSize(t.DataType, where);
        long present = t.HasRawData ? t.RawData.Length / size : TypedCount(t);
        if (t.HasRawData && t.RawData.Length % size != 0)
            throw new HepBnnException($"{where}: raw data has {t.RawData.Length} bytes, not a multiple of the {TypeName(t.DataType)} size {size}");
        long count = ConstTensor.CountOf(dims, present);
        if (count < 0 || count != present)
            throw new HepBnnException($"{where}: dims [{string.Join(",", dims)}] do not match the {present} values present");
        var data = new double[count];
        if (t.HasRawData) DecodeRaw(t.RawData.Span, t.DataType, data);
        else DecodeTyped(t, data);
        return new ConstTensor(dims, data, t.DataType);
    }

    static int ElementSize(int type, string where) => type switch
    {
        Float or Int32 or Uint32 => 4,
        Double or Int64 or Uint64 => 8,
        Uint8 or Int8 or Bool => 1,
        Uint16 or Int16 or Float16 or BFloat16 => 2,
        _ => throw new HepBnnException($"{where}: tensors of {TypeName(type)} are not supported"),
    };

    static long TypedCount(TensorProto t) => t.DataType switch
    {
        Float => t.FloatData.Count,
        Double => t.DoubleData.Count,
        Int64 => t.Int64Data.Count,
        Uint32 or Uint64 => t.Uint64Data.Count,
        _ => t.Int32Data.Count,
    };

    static void DecodeRaw(ReadOnlySpan<byte> raw, int type, double[] data)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = type switch
            {
                Float => BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]),
                Double => BinaryPrimitives.ReadDoubleLittleEndian(raw[(i * 8)..]),
                Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw[(i * 8)..]),
                Uint64 => BinaryPrimitives.ReadUInt64LittleEndian(raw[(i * 8)..]),
                Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw[(i * 4)..]),
                Uint32 => BinaryPrimitives.ReadUInt32LittleEndian(raw[(i * 4)..]),
                Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw[(i * 2)..]),
                Uint16 => BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]),
                Float16 => (double)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..])),
                BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(raw[(i * 2)..]) << 16),
                Int8 => (sbyte)raw[i],
                Bool => raw[i] != 0 ? 1 : 0,
                _ => raw[i],
            };
    }

    static void DecodeTyped(TensorProto t, double[] data)
    {
        for (int i = 0; i < data.Length; i++)
            data[i] = t.DataType switch
            {
                Float => t.FloatData[i],
                Double => t.DoubleData[i],
                Int64 => t.Int64Data[i],
                Uint32 or Uint64 => t.Uint64Data[i],
                Float16 => (double)BitConverter.UInt16BitsToHalf((ushort)t.Int32Data[i]),
                BFloat16 => BitConverter.Int32BitsToSingle(t.Int32Data[i] << 16),
                Bool => t.Int32Data[i] != 0 ? 1 : 0,
                _ => t.Int32Data[i],
            };
    }
}
