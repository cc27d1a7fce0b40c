namespace HepBnn.Ops;

/// <summary>Groups output rows (or columns) of a zero-padded convolution by the range of kernel taps that fall inside
/// the input. Outputs of one class see the same in-bounds taps, so per-class precomputation is exact.</summary>
public static class BorderClasses
{
    /// <summary>For each output index, its class; and for each class, the in-bounds tap range [Lo, Hi).</summary>
    public static (int[] ClassOf, List<(int Lo, int Hi)> Ranges) Compute(int inSize, int outSize, int kernel, int stride, int pad)
    {
        var classOf = new int[outSize];
        var ranges = new List<(int, int)>();
        for (int o = 0; o < outSize; o++)
        {
            var r = TapRange(o, inSize, kernel, stride, pad);
            int idx = ranges.IndexOf(r);
            if (idx < 0) { idx = ranges.Count; ranges.Add(r); }
            classOf[o] = idx;
        }
        return (classOf, ranges);
    }

    public static (int Lo, int Hi) TapRange(int o, int inSize, int kernel, int stride, int pad)
    {
        int start = o * stride - pad;
        return (Math.Max(0, -start), Math.Min(kernel, inSize - start));
    }
}
