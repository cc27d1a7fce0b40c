using HepBnn.Formats.Onnx;
using HepBnn.Model;

namespace HepBnn.Tests.Formats.Onnx;

public class OnnxRoundTripTests
{
    [Fact]
    public void ExactExportImportsToTheSameModel()
    {
        foreach (var model in FormatTestModels.RoundTripSet(randomCount: 60))
        {
            var bytes = OnnxExporter.Export(model);
            var back = OnnxImporter.Import(bytes);
            Assert.True(ModelHash.Compute(model) == ModelHash.Compute(back),
                $"model {model.Name}: ONNX round trip changed the model: {ModelDiff.First(model, back)}");
        }
    }

    [Fact]
    public void ExactExportWithRawScoresOutputStillImports()
    {
        foreach (var model in new[] { FormatTestModels.Tiny(2), FormatTestModels.TinyPlain(3) })
        {
            var back = OnnxImporter.Import(OnnxExporter.Export(model, new OnnxExportOptions { RawScoresOutput = true }));
            Assert.Equal(ModelHash.Compute(model), ModelHash.Compute(back));
        }
    }

    [Fact]
    public void Float32ExportRoundTripsWhenParametersAreFloat32()
    {
        for (int seed = 0; seed < 30; seed++)
        {
            var model = Float32Params.Round(RandomNetworks.Generate(seed));
            var back = OnnxImporter.Import(OnnxExporter.Export(model, new OnnxExportOptions { Precision = OnnxPrecision.Float32 }));
            Assert.True(ModelHash.Compute(model) == ModelHash.Compute(back), $"seed {seed}: float32 round trip changed the model: {ModelDiff.First(model, back)}");
        }
    }

    internal static string Describe(BnnModel m) => string.Join("\n", m.Layers.Select(l => l switch
    {
        BatchNormSign b => $"{l.Kind} γ0={b.Params.Gamma[0]:R} β0={b.Params.Beta[0]:R} μ0={b.Params.Mean[0]:R} v0={b.Params.Variance[0]:R} ε={b.Params.Epsilon:R}",
        ScoreBatchNorm b => $"{l.Kind} γ0={b.Params.Gamma[0]:R} β0={b.Params.Beta[0]:R} μ0={b.Params.Mean[0]:R} v0={b.Params.Variance[0]:R} ε={b.Params.Epsilon:R}",
        InputConv2d c => $"{l} norm={(c.Normalization is { } n ? string.Join(",", n.Offset) + "/" + n.Divisor : "none")}",
        _ => l.ToString(),
    }));
}
