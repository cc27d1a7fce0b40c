using System.Buffers.Binary;
using HepBnn.Formats.Datasets;


namespace HepBnn.Tests.Fuzzing;

/// <summary>Mutation fuzzing of the dataset readers (IDX as in Fashion-MNIST, CIFAR-10 binary batches) through their file
/// entry points, from seed files of a few records.</summary>
[Trait("Category", "Fuzz")]
public class DatasetFuzzTests(ITestOutputHelper output)
{
    internal static byte[] Idx(byte type, uint[] dims, byte[] data)
    {
        var b = new byte[4 + 4 * dims.Length + data.Length];
        b[2] = type;
        b[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        data.CopyTo(b, 4 + 4 * dims.Length);
        return b;
    }

    static byte[] Bytes(int n, int seed, int modulo = 256) => Enumerable.Range(0, n).Select(i => (byte)((i * 31 + seed) % modulo)).ToArray();

    /// <summary>Each input is read in the role its dimension byte names: a labels file (1 dimension) with a fixed file of
    /// 3 images, anything else as an images file with a fixed file of 3 labels; so both roles and their cross-checks
    /// (counts, label range, image size) are reached.</summary>
    [Fact]
    public void IdxImagesAndLabels()
    {
        var seeds = new List<byte[]>
        {
            Idx(8, [3], [9, 0, 4]),
            Idx(8, [3], Bytes(3, 5, 10)),
            Idx(8, [3, 4, 5], Bytes(60, 1)),
            Idx(8, [3, 28, 28], Bytes(3 * 28 * 28, 2)),
        };
        using var scratch = new FuzzScratch();
        string images = scratch.Write("fixed-images", Idx(8, [3, 2, 2], Bytes(12, 3)));
        string labels = scratch.Write("fixed-labels", Idx(8, [3], [1, 2, 3]));
        var fuzzer = new MutationFuzzer("idx", seeds, b =>
        {
            string path = scratch.Write("input-idx-ubyte", b);
            if (b.Length > 3 && b[3] == 1) IdxReader.Read(images, path);
            else IdxReader.Read(path, labels);
        }, FuzzSettings.Options(null, MutateIdx));
        FuzzSettings.Check(output, fuzzer.Run(FuzzSettings.Cases));
    }

    /// <summary>Header surgery: element type, dimension count and dimensions set to edge values, the data resized to match
    /// the new dimensions where that stays small (so checks behind the length check are reached) or left as it was.</summary>
    static (byte[], string) MutateIdx(byte[] seed, Random r)
    {
        int dimCount = seed[3];
        var dims = new uint[dimCount];
        for (int i = 0; i < dimCount; i++) dims[i] = BinaryPrimitives.ReadUInt32BigEndian(seed.AsSpan(4 + 4 * i));
        var data = seed[(4 + 4 * dimCount)..];
        byte type = 8;
        string how;
        uint[] edge = [0, 1, 2, 3, 255, 256, 16384, 16385, 65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];
        switch (r.Next(4))
        {
            case 0:
                type = (byte)(r.Next(2) == 0 ? r.Next(256) : new byte[] { 0x09, 0x0B, 0x0C, 0x0D, 0x0E }[r.Next(5)]);
                how = $"type 0x{type:X2}";
                break;
            case 1:
            {
                int n = r.Next(0, 5);
                dims = Enumerable.Range(0, n).Select(i => i < dims.Length ? dims[i] : 1u).ToArray();
                how = $"{n} dimensions";
                break;
            }
            default:
            {
                int i = r.Next(dims.Length);
                dims[i] = r.Next(3) == 0 ? (uint)r.Next(0, 40_000) : edge[r.Next(edge.Length)];
                how = $"dimension {i} = {dims[i]}";
                break;
            }
        }
        ulong product = dims.Aggregate(1UL, (p, d) => Math.Min(p * d, 1UL << 40));
        if (r.Next(2) == 0 && product <= 1 << 18)
        {
            data = Bytes((int)product, r.Next(), r.Next(2) == 0 ? 10 : 256);
            how += ", data resized";
        }
        var file = Idx(type, dims, data);
        file[3] = (byte)dims.Length;
        return (file, "idx: " + how);
    }

    static byte[] CifarRecords(int count, int seed) =>
        Enumerable.Range(0, count).SelectMany(k => new[] { (byte)((k + seed) % 10) }.Concat(Bytes(Cifar10Reader.PixelBytes, seed + k))).ToArray();

    [Fact]
    public void Cifar10Batch()
    {
        var seeds = new List<byte[]> { CifarRecords(1, 3), CifarRecords(2, 5), CifarRecords(3, 7) };
        using var scratch = new FuzzScratch();
        string good = scratch.Write("data_batch_2.bin", CifarRecords(1, 9));
        int n = 0;
        var fuzzer = new MutationFuzzer("cifar10", seeds, b =>
        {
            // every fourth case as the first of two batch files, so concatenation is covered too
            string path = scratch.Write("data_batch_1.bin", b);
            if (n++ % 4 == 0) Cifar10Reader.Read(path, good);
            else Cifar10Reader.Read(path);
        }, FuzzSettings.Options(null, MutateCifar));
        FuzzSettings.Check(output, fuzzer.Run(FuzzSettings.Cases));
    }

    /// <summary>Record surgery: a label set to any byte, a whole record duplicated or removed, a partial record appended.</summary>
    static (byte[], string) MutateCifar(byte[] seed, Random r)
    {
        const int R = Cifar10Reader.RecordBytes;
        int records = seed.Length / R, k = r.Next(records);
        var data = seed.ToArray();
        switch (r.Next(4))
        {
            case 0:
                data[k * R] = (byte)r.Next(256);
                return (data, $"cifar: label of record {k} = {data[k * R]}");
            case 1:
                return ([.. data, .. data.AsSpan(k * R, R)], $"cifar: record {k} duplicated");
            case 2:
                return ([.. data[..(k * R)], .. data[((k + 1) * R)..]], $"cifar: record {k} removed");
            default:
            {
                int extra = r.Next(1, R);
                return ([.. data, .. data.AsSpan(k * R, extra)], $"cifar: {extra} bytes of a record appended");
            }
        }
    }
}
