namespace HepBnn.Formats.Onnx.Import;

/// <summary>A constant of the graph (initializer, Constant node or folded expression) as float64 values, row-major.
/// <see cref="ElemType"/> is the ONNX element type it has in the graph (arithmetic on FLOAT rounds to float32).</summary>
internal sealed class ConstTensor
{
    public long[] Dims { get; }
    public double[] Data { get; }
    public int ElemType { get; }

    public ConstTensor(long[] dims, double[] data, int elemType)
    {
        Dims = dims;
        Data = data;
        ElemType = elemType;
    }

    public int Rank => Dims.Length;
    public long Count => Data.LongLength;
    public bool IsSingleValue => Data.Length == 1;

    public static ConstTensor Scalar(double v, int elemType) => new([], [v], elemType);

    public string ShapeText => "[" + string.Join(",", Dims) + "]";

    /// <summary>Element count of <paramref name="dims"/>, or -1 when a dim is negative or the product exceeds <paramref name="limit"/>.</summary>
    public static long CountOf(IReadOnlyList<long> dims, long limit)
    {
        long n = 1;
        foreach (long d in dims)
        {
            if (d < 0) return -1;
            if (d == 0) return 0;
            if (n > limit / d) return -1;
            n *= d;
        }
        return n;
    }

    /// <summary>The values as integers (shape inputs, axes); fails on non-integral values.</summary>
    public long[] AsInt64(string where)
    {
        var r = new long[Data.Length];
        for (int i = 0; i < r.Length; i++)
        {
            double v = Data[i];
            if (v != Math.Floor(v) || Math.Abs(v) > 1L << 53) throw new HepBnnException($"{where}: expected integers, found {v}");
            r[i] = (long)v;
        }
        return r;
    }

    /// <summary>
    /// The constant as one value per channel of an activation of rank <paramref name="rank"/> (channel axis 1):
    /// numpy broadcasting right-aligns the dims, so the constant may vary only along that axis.
    /// Returns null when it does not broadcast that way.
    /// </summary>
    public double[]? PerChannel(int rank, int channels)
    {
        if (Rank > rank) return null;
        int channelAxis = 1 - (rank - Rank); // axis of the constant aligned with the activation's axis 1
        for (int a = 0; a < Rank; a++)
            if (Dims[a] != 1 && !(a == channelAxis && Dims[a] == channels)) return null;
        var r = new double[channels];
        for (int c = 0; c < channels; c++) r[c] = Data.Length == 1 ? Data[0] : Data[c];
        return r;
    }
}
