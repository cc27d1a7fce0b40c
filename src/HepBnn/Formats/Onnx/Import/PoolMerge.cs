using HepBnn.Model;
using HepBnn.Ops;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>
/// A second max pool in one block (PyTorch code that pools before the BatchNorm and again after the sign, or twice after
/// the sign). The engine's block has one pool, so the two are folded into one where that is exact: non-overlapping
/// windows (size = stride) compose into one window of size a·b (floor(floor(H/a)/b) = floor(H/(a·b))), and
/// max-then-max is max. A pool on integers before the BatchNorm becomes OR of the thresholded bits only for channels
/// whose decision increases with the sums (BN scale ≥ 0); a channel with a negative scale ANDs there, and AND-then-OR is
/// no single pool: that is refused, naming the node and the channel.
/// </summary>
internal static class PoolMerge
{
    /// <summary>Folds <paramref name="next"/> into the pool of the block at the end of <paramref name="layers"/> and returns
    /// true, or returns false when that block has no pool yet (then <paramref name="next"/> is its pool after the sign).</summary>
    public static bool TryMerge(List<Layer> layers, MaxPool2d next, string desc)
    {
        if (layers.Count >= 1 && layers[^1] is MaxPool2d after)
        {
            layers[^1] = Compose(after, next, desc);
            return true;
        }
        if (layers.Count >= 3 && layers[^1] is BatchNormSign bn && layers[^2] is MaxPool2d before)
        {
            bool flipped = layers[^3] is InputConv2d { Normalization.Divisor: < 0 };
            for (int c = 0; c < bn.Params.Channels; c++)
            {
                double s = BatchNormFold.Scale(bn.Params, c);
                if (flipped ? s > 0 : s < 0)
                    throw new HepBnnException($"{desc}: a second max pool after the sign, with a max pool before the BatchNorm, is exact " +
                                              $"only where the decision increases with the sums; channel {c} has a negative BatchNorm scale " +
                                              "(its first pool is an AND of the bits, and AND then OR is no single pool)");
            }
            layers[^2] = Compose(before, next, desc);
            return true;
        }
        return false;
    }

    static MaxPool2d Compose(MaxPool2d first, MaxPool2d second, string desc)
    {
        if (first.Size != first.Stride || second.Size != second.Stride)
            throw new HepBnnException($"{desc}: a second max pool in one block is supported only with non-overlapping windows " +
                                      $"(kernel = stride); found {first.Size}/{first.Stride} then {second.Size}/{second.Stride}");
        return new MaxPool2d(checked(first.Size * second.Size), checked(first.Stride * second.Stride));
    }
}
