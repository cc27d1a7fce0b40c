using HepBnn.Model;

namespace HepBnn.Ops;

/// <summary>Turns a model's layers into executable <see cref="Block"/>s (packing weights, folding BatchNorm, fusing pools).
/// Grammar: main [MaxPool] (BatchNormSign [MaxPool] | [ScoreBatchNorm] at the end), main = InputConv2d | BinaryConv2d | BinaryDense;
/// Flatten may appear before a dense layer.</summary>
public static class BlockCompiler
{
    public static IReadOnlyList<Block> Compile(BnnModel model)
    {
        var layers = model.Layers;
        var shapes = model.LayerOutputShapes();
        var blocks = new List<Block>();
        int i = 0, convCount = 0, denseCount = 0;
        while (i < layers.Count)
        {
            if (layers[i] is Flatten) { i++; continue; }
            int first = i;
            // Flatten is a no-op on the packed layout: a dense layer sees the spatial tensor before it.
            int producer = i - 1;
            while (producer >= 0 && layers[producer] is Flatten) producer--;
            var inShape = producer < 0 ? model.InputShape : shapes[producer];
            string where = $"layer {i} ({layers[i].Kind})";
            var main = layers[i];
            if (main is not (InputConv2d or BinaryConv2d or BinaryDense))
                throw new HepBnnException($"{where}: expected a convolution or dense layer to start a block");
            var convShape = shapes[i];
            i++;
            MaxPool2d? poolBefore = null, poolAfter = null;
            BatchNormSign? bn = null;
            ScoreBatchNorm? scoreBn = null;
            if (i < layers.Count && layers[i] is MaxPool2d p1) { poolBefore = p1; i++; }
            if (i < layers.Count && layers[i] is BatchNormSign b) { bn = b; i++; }
            if (bn is not null && poolBefore is null && i < layers.Count && layers[i] is MaxPool2d p2) { poolAfter = p2; i++; }
            if (bn is null && i < layers.Count && layers[i] is ScoreBatchNorm sb) { scoreBn = sb; i++; }
            bool isLast = i == layers.Count;
            if (bn is null && !isLast)
                throw new HepBnnException($"{where}: a hidden layer must be followed by BatchNormSign (found {layers[i].Kind} at layer {i})");
            if (bn is null && poolBefore is not null)
                throw new HepBnnException($"{where}: max pooling directly before the class scores is not supported");
            if (bn is null && main is InputConv2d)
                throw new HepBnnException($"{where}: the image layer cannot produce the class scores; add a binary layer after it");
            var pool = poolBefore ?? poolAfter;
            var outShape = shapes[i - 1];
            string name = main is BinaryDense ? $"fc{++denseCount}" : $"conv{++convCount}";
            blocks.Add(Build(blocks.Count, name, first, i - 1, main, inShape, convShape, outShape, pool, poolBefore is not null, bn, scoreBn));
        }
        return blocks;
    }

    static Block Build(int index, string name, int first, int last, Layer main, Shape3 inShape, Shape3 convShape, Shape3 outShape,
        MaxPool2d? pool, bool poolOnIntegers, BatchNormSign? bn, ScoreBatchNorm? scoreBn)
    {
        var (kh, kw, stride, pad, weights) = main switch
        {
            InputConv2d c => (c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights),
            BinaryConv2d c => (c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights),
            BinaryDense d => (inShape.H, inShape.W, 1, 0, d.Weights),
            _ => throw new InvalidOperationException(),
        };
        bool image = main is InputConv2d;
        int k = convShape.C;
        int[] sign = [], value = [];
        long[] multipliers = [], wide = [];
        int rowClasses = 1, colClasses = 1;
        int[] rowOf = new int[convShape.H], colOf = new int[convShape.W];
        byte[] poolAnd = [];
        ulong[] poolAndMask = [];
        if (bn is not null)
        {
            var norm = (main as InputConv2d)?.Normalization;
            (rowOf, var rowRanges) = norm is null ? (rowOf, [(0, kh)]) : BorderClasses.Compute(inShape.H, convShape.H, kh, stride, pad);
            (colOf, var colRanges) = norm is null ? (colOf, [(0, kw)]) : BorderClasses.Compute(inShape.W, convShape.W, kw, stride, pad);
            rowClasses = rowRanges.Count; colClasses = colRanges.Count;
            sign = new int[k];
            if (norm is { IsPerChannel: true })
                (multipliers, wide) = FoldPerChannel(bn, norm, weights, inShape.C, kh, kw, k, rowRanges, colRanges, sign);
            else
            {
                value = new int[k * rowClasses * colClasses];
                for (int ch = 0; ch < k; ch++)
                    for (int rc = 0; rc < rowClasses; rc++)
                        for (int cc = 0; cc < colClasses; cc++)
                        {
                            double offset = norm is null ? 0 : WeightedOffset(weights, inShape.C, kh, kw, ch, rowRanges[rc], colRanges[cc], norm.Offset);
                            var t = BatchNormFold.Fold(bn.Params, ch, offset, norm?.Divisor ?? 1);
                            sign[ch] = t.Sign;
                            value[(ch * rowClasses + rc) * colClasses + cc] = t.Value;
                        }
            }
            poolAnd = new byte[k];
            poolAndMask = new ulong[convShape.ChannelWords];
            if (pool is not null && poolOnIntegers)
                for (int ch = 0; ch < k; ch++)
                    if (sign[ch] < 0) { poolAnd[ch] = 1; poolAndMask[ch >> 6] |= 1UL << (ch & 63); }
        }
        return new Block
        {
            Index = index, Name = name, FirstLayer = first, LastLayer = last,
            Input = image ? BlockInput.Image : BlockInput.Bits,
            Output = bn is null ? BlockOutput.Scores : BlockOutput.Bits,
            InputShape = inShape, ConvShape = convShape, OutputShape = outShape,
            KernelH = kh, KernelW = kw, Stride = stride, Padding = pad,
            PackedWeights = image ? null : BitPacking.PackRows(weights, inShape.C),
            ImageWeights = image ? weights : null,
            ThresholdSign = sign, ThresholdValue = value, ChannelMultipliers = multipliers, WideThresholdValue = wide, RowClasses = rowClasses, ColClasses = colClasses,
            RowClassOf = rowOf, ColClassOf = colOf,
            PoolSize = pool?.Size ?? 0, PoolStride = pool?.Stride ?? 0, PoolAnd = poolAnd, PoolAndMask = poolAndMask,
            ScoreNorm = scoreBn?.Params,
        };
    }

    /// <summary>Fixed-point bits K of the per-channel multipliers q_c = round(2^K·d_min/d_c) ≤ 2^K: the largest K with
    /// |P| = |Σ_c q_c·S_c| ≤ C·2^K·255·kh·kw &lt; 2^61 (so P, and thresholds clamped to ±2^62, fit a long), at most 52
    /// (q̃_c is a float64: more bits add nothing). 3 channels, 3×3: K = 48.</summary>
    public static int ChannelSumBits(int c, int kh, int kw)
    {
        long maxSum = (long)c * 255 * kh * kw;
        int k = Math.Min(52, 61 - (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)maxSum)));
        if (k < 24) throw new HepBnnException($"per-channel normalization: a {kh}x{kw} kernel on {c} channels leaves {k} fixed-point bits (< 24)");
        return k;
    }

    /// <summary>Per-channel divisors d_c: the pre-activation is y = Σ_c (S_c − A_c)/d_c with S_c the raw integer sum of
    /// input channel c and A_c = Σ w·offset_c over the border class's in-bounds taps. Scaled by 2^K·d_min it is
    /// Σ_c q̃_c·(S_c − A_c), q̃_c = 2^K·d_min/d_c ∈ (0, 2^K]; the kernels evaluate P = Σ_c q_c·S_c exactly in 64-bit
    /// integers with q_c = round(q̃_c), and the threshold folds BN, offsets and scale in float64.</summary>
    static (long[] Multipliers, long[] Values) FoldPerChannel(BatchNormSign bn, InputNormalization norm, sbyte[] weights, int c,
        int kh, int kw, int k, List<(int Lo, int Hi)> rowRanges, List<(int Lo, int Hi)> colRanges, int[] sign)
    {
        int bits = ChannelSumBits(c, kh, kw);
        double dMin = Enumerable.Range(0, c).Min(norm.DivisorOf);
        var q = new long[c];
        for (int ch = 0; ch < c; ch++) q[ch] = (long)Math.Round(Math.ScaleB(dMin / norm.DivisorOf(ch), bits));
        double scale = Math.ScaleB(dMin, bits);
        int rowClasses = rowRanges.Count, colClasses = colRanges.Count;
        var values = new long[k * rowClasses * colClasses];
        var unit = new double[c];
        for (int ch = 0; ch < k; ch++)
            for (int rc = 0; rc < rowClasses; rc++)
                for (int cc = 0; cc < colClasses; cc++)
                {
                    double offsetP = 0;
                    for (int i = 0; i < c; i++)
                    {
                        Array.Clear(unit);
                        unit[i] = norm.Offset[i];
                        offsetP += q[i] * WeightedOffset(weights, c, kh, kw, ch, rowRanges[rc], colRanges[cc], unit);
                    }
                    var t = BatchNormFold.FoldWide(bn.Params, ch, offsetP, scale);
                    sign[ch] = t.Sign;
                    values[(ch * rowClasses + rc) * colClasses + cc] = t.Value;
                }
        return (q, values);
    }

    /// <summary>Σ w·offset_c over the in-bounds taps of one border class, in (ky, kx, c) order: what the normalization
    /// subtracts from the raw-pixel sum.</summary>
    static double WeightedOffset(sbyte[] w, int c, int kh, int kw, int k, (int Lo, int Hi) rows, (int Lo, int Hi) cols, double[] offset)
    {
        double sum = 0;
        for (int ky = rows.Lo; ky < rows.Hi; ky++)
            for (int kx = cols.Lo; kx < cols.Hi; kx++)
                for (int ch = 0; ch < c; ch++)
                    sum += w[((k * kh + ky) * kw + kx) * c + ch] * offset[ch];
        return sum;
    }
}
