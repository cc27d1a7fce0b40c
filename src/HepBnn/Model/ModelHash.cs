using System.Security.Cryptography;

namespace HepBnn.Model;

/// <summary>Content hash of a model: SHA-256 over input shape, layer kinds, hyper-parameters, weights and BN parameters
/// (not the name). Plans and model files record it so that a plan is never applied to a different model.</summary>
public static class ModelHash
{
    public static string Compute(BnnModel model)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        void Int(long v) => h.AppendData(BitConverter.GetBytes(v));
        void Doubles(double[] v) { Int(v.Length); foreach (var d in v) h.AppendData(BitConverter.GetBytes(d)); }
        void Weights(sbyte[] w) { Int(w.LongLength); h.AppendData((byte[])(Array)w); }
        void Bn(BatchNormParams p) { Doubles(p.Gamma); Doubles(p.Beta); Doubles(p.Mean); Doubles(p.Variance); Doubles([p.Epsilon]); }
        Int(model.InputShape.H); Int(model.InputShape.W); Int(model.InputShape.C);
        foreach (var layer in model.Layers)
        {
            h.AppendData(System.Text.Encoding.UTF8.GetBytes(layer.Kind));
            switch (layer)
            {
                case InputConv2d c:
                    Int(c.OutChannels); Int(c.KernelH); Int(c.KernelW); Int(c.Stride); Int(c.Padding); Weights(c.Weights);
                    Int(c.Normalization is null ? 0 : 1);
                    if (c.Normalization is { } n) { Doubles(n.Offset); Doubles([n.Divisor]); if (n.ChannelDivisors is { } d) Doubles(d); }
                    break;
                case BinaryConv2d c: Int(c.OutChannels); Int(c.KernelH); Int(c.KernelW); Int(c.Stride); Int(c.Padding); Weights(c.Weights); break;
                case BinaryDense d: Int(d.OutFeatures); Weights(d.Weights); break;
                case MaxPool2d p: Int(p.Size); Int(p.Stride); break;
                case BatchNormSign b: Bn(b.Params); break;
                case ScoreBatchNorm b: Bn(b.Params); break;
            }
        }
        return Convert.ToHexStringLower(h.GetHashAndReset());
    }
}
