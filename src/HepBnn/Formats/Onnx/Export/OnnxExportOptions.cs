namespace HepBnn.Formats.Onnx;

/// <summary>How BatchNorm and the first layer's normalization are written.</summary>
public enum OnnxPrecision
{
    /// <summary>Decisions computed in float64 exactly as HepBnn's reference does (BatchNorm as (x − μ)·γ/√(var+ε) + β,
    /// normalization applied after the first convolution on exact integer sums); every parameter is stored in float64, so
    /// import gives back the same model (same ModelHash) and ONNX Runtime reproduces the engine's integer sums.</summary>
    Exact,
    /// <summary>The plain float32 graph a PyTorch export would have (Sub/Div, Conv, BatchNormalization, Where, Gemm):
    /// what a float runtime is fastest at; parameters rounded to float32, so decisions may differ near thresholds.</summary>
    Float32,
}

public sealed record OnnxExportOptions
{
    public OnnxPrecision Precision { get; init; } = OnnxPrecision.Exact;
    /// <summary>Adds a second output "raw_scores": the last layer's integer sums before its ScoreBatchNorm (float).</summary>
    public bool RawScoresOutput { get; init; }
}
