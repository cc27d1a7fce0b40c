using HepBnn.Formats.Onnx;
using HepBnn.Model;
using HepBnn.Planning;
using Microsoft.ML.OnnxRuntime;

namespace HepBnn.Cli.Baselines;

/// <summary>
/// ONNX Runtime (CPU execution provider) running the model's plain float32 export (<see cref="OnnxPrecision.Float32"/>:
/// Conv / Gemm on ±1 floats, BatchNormalization, Where), as a baseline for HepBnn's bit kernels. Same images, same
/// thread count and the same median measurement as HepBnn's own benchmarks.
/// </summary>
public sealed class OnnxRuntimeBaseline : IDisposable
{
    readonly InferenceSession _session;
    readonly Microsoft.ML.OnnxRuntime.SessionOptions _options;
    readonly BnnModel _model;

    public OnnxRuntimeBaseline(BnnModel model, int threads)
    {
        _model = model;
        _options = new Microsoft.ML.OnnxRuntime.SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = threads,
        };
        try { _session = new InferenceSession(OnnxExporter.Export(model, new OnnxExportOptions { Precision = OnnxPrecision.Float32 }), _options); }
        catch (OnnxRuntimeException e) { _options.Dispose(); throw new HepBnnException($"ONNX Runtime cannot load the exported model: {e.Message}", e); }
    }

    /// <summary>Median latency of one batch (input: NHWC bytes as HepBnn takes them; converted to NCHW floats once, outside the timing).</summary>
    public TimingStats Measure(byte[] imagesNhwc, int batch, double budgetMs)
    {
        var s = _model.InputShape;
        var nchw = ImageLayout.NhwcToNchw(imagesNhwc, s, batch);
        using var input = OrtValue.CreateTensorValueFromMemory(nchw, [batch, s.C, s.H, s.W]);
        using var run = new RunOptions();
        string[] inputNames = [_session.InputNames[0]], outputNames = [_session.OutputNames[0]];
        OrtValue[] inputs = [input];
        return TimingStats.Measure(() =>
        {
            using var outputs = _session.Run(run, inputNames, inputs, outputNames);
        }, budgetMs: budgetMs);
    }

    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }
}
