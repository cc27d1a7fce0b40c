using HepBnn.Model;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>Rounds a model's float64 parameters to float32 values, so that a float32 ONNX export carries them exactly.</summary>
public static class Float32Params
{
    static double[] R(double[] v) => v.Select(x => (double)(float)x).ToArray();
    static BatchNormParams R(BatchNormParams p) => new(R(p.Gamma), R(p.Beta), R(p.Mean), R(p.Variance), (float)p.Epsilon);

    public static BnnModel Round(BnnModel m) => new(m.Name, m.InputShape, m.Layers.Select(l => l switch
    {
        InputConv2d c when c.Normalization is { } n => c with { Normalization = new InputNormalization(R(n.Offset), (float)n.Divisor) },
        BatchNormSign b => new BatchNormSign(R(b.Params)),
        ScoreBatchNorm b => (Layer)new ScoreBatchNorm(R(b.Params)),
        _ => l,
    }).ToArray());
}
