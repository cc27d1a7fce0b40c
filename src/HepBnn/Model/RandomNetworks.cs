namespace HepBnn.Model;

/// <summary>Small random networks of every supported layer pattern, for property tests, verification and fuzzing:
/// odd sizes, channels around multiples of 64, kernels 1/3/5, strides 1/2, padding 0..2, pooling before BN (integer
/// max), after the sign (OR) or none, normalized image input, dense layers of awkward widths.</summary>
public static class RandomNetworks
{
    public static BnnModel Generate(int seed)
    {
        var r = new Random(seed);
        int Pick(params int[] v) => v[r.Next(v.Length)];
        int h = r.Next(1, 11), w = r.Next(1, 11);
        var b = new ModelBuilder(new Shape3(h, w, Pick(1, 2, 3)), seed);
        int k0 = Pick(1, 3, 8, 64, 65), kernel0 = Pick(1, 3), pad0 = Math.Min(kernel0 / 2, r.Next(0, 2));
        if (h + 2 * pad0 < kernel0 || w + 2 * pad0 < kernel0) pad0 = kernel0 / 2;
        b.InputConv(k0, kernel0, 1, pad0, normalize: r.Next(2) == 0).BnSign();
        (h, w) = (h + 2 * pad0 - kernel0 + 1, w + 2 * pad0 - kernel0 + 1);
        int convs = r.Next(1, 3);
        for (int i = 0; i < convs; i++)
        {
            int kernel = Pick(1, 3, 5), pad = r.Next(0, 3), stride = Pick(1, 2);
            if (h + 2 * pad < kernel || w + 2 * pad < kernel) { kernel = 1; pad = 0; }
            b.Conv(Pick(1, 5, 63, 64, 65, 70, 128, 130), kernel, stride, pad);
            (h, w) = ((h + 2 * pad - kernel) / stride + 1, (w + 2 * pad - kernel) / stride + 1);
            int pool = Math.Min(Pick(2, 3), Math.Min(h, w)), pstride = Pick(1, 2);
            int where = pool >= 2 ? r.Next(3) : 0; // 0 none, 1 before BN, 2 after sign
            if (where == 1) b.Pool(pool, pstride);
            b.BnSign();
            if (where == 2) b.Pool(pool, pstride);
            if (where != 0) (h, w) = ((h - pool) / pstride + 1, (w - pool) / pstride + 1);
        }
        b.Flatten();
        if (r.Next(2) == 0) b.Dense(Pick(1, 10, 64, 65, 100)).BnSign();
        b.Dense(Pick(2, 10, 17));
        if (r.Next(2) == 0) b.ScoreBn();
        return b.Build($"random-{seed}");
    }
}
