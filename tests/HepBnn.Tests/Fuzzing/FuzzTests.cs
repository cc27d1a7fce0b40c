using HepBnn.Formats.Native;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Tests.Formats;
using HepBnn.Tests.Formats.Native;


namespace HepBnn.Tests.Fuzzing;

/// <summary>
/// Mutation fuzzing of both model parsers (the planning and dataset parsers: PlanningFuzzTests, DatasetFuzzTests). `dotnet test` runs a few thousand cases per parser; scripts/fuzz.sh sets
/// HEPBNN_FUZZ_CASES (e.g. 100000) for a dedicated run and HEPBNN_FUZZ_REPORT to collect the printed counts.
/// HEPBNN_FUZZ_SEED changes the random cases.
/// </summary>
[Trait("Category", "Fuzz")]
public class FuzzTests(ITestOutputHelper output)
{
    static int Cases => FuzzSettings.Cases;
    static MutationFuzzer.Options Options(Func<byte[], byte[]>? reseal, Func<byte[], Random, (byte[], string)> structured) =>
        FuzzSettings.Options(reseal, structured);
    void Check(MutationFuzzer.Report report) => FuzzSettings.Check(output, report);

    [Fact]
    public void NativeModelFileParser()
    {
        var seeds = new List<byte[]> { ModelFile.ToBytes(FormatTestModels.Tiny(1)), ModelFile.ToBytes(FormatTestModels.TinyPlain(2)) };
        for (int s = 0; seeds.Count < 6; s++)
            if (ModelFile.ToBytes(RandomNetworks.Generate(s)) is { Length: < 24_000 } b) seeds.Add(b);
        var fuzzer = new MutationFuzzer("hbnn", seeds, b =>
        {
            var model = ModelFile.FromBytes(b);
            // round trip: what the reader accepts, the writer rewrites and the reader reads back equal (byte for byte)
            RoundTrip.Check("hbnn", () =>
            {
                var written = ModelFile.ToBytes(model);
                var again = ModelFile.FromBytes(written);
                RoundTrip.Equal(ModelHash.Compute(model), ModelHash.Compute(again), "model hash");
                RoundTrip.True(written.AsSpan().SequenceEqual(ModelFile.ToBytes(again)), "rewriting the re-read model changed its bytes");
            });
        }, Options(HbnnSurgery.Reseal, HbnnMutator.Mutate));
        Check(fuzzer.Run(Cases));
    }

    [Fact]
    public void OnnxModelImporter()
    {
        var seeds = new List<byte[]>
        {
            OnnxExporter.Export(FormatTestModels.Tiny(1)),
            OnnxExporter.Export(FormatTestModels.Tiny(2), new OnnxExportOptions { Precision = OnnxPrecision.Float32, RawScoresOutput = true }),
            OnnxExporter.Export(FormatTestModels.TinyPlain(3)),
        };
        for (int s = 0; seeds.Count < 5; s++)
            if (OnnxExporter.Export(RandomNetworks.Generate(s)) is { Length: < 40_000 } b) seeds.Add(b);
        var fixtures = Path.Combine(AppContext.BaseDirectory, "Formats", "Onnx", "Fixtures");
        seeds.Add(File.ReadAllBytes(Path.Combine(fixtures, "bnn_small_torchscript.onnx")));
        seeds.Add(File.ReadAllBytes(Path.Combine(fixtures, "bnn_small_dynamo.onnx")));
        var fuzzer = new MutationFuzzer("onnx", seeds, b =>
        {
            var model = OnnxImporter.Import(b);
            // round trip: an imported model exports (exact) and imports back to the same model
            RoundTrip.Check("onnx", () => RoundTrip.Equal(ModelHash.Compute(model), ModelHash.Compute(OnnxImporter.Import(OnnxExporter.Export(model))), "model hash"));
        }, Options(null, OnnxMutator.Mutate));
        Check(fuzzer.Run(Cases));
    }
}
