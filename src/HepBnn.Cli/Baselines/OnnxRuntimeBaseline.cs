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
        using var inference = Prepare(imagesNhwc, batch);
        return TimingStats.Measure(inference.Run, budgetMs: budgetMs);
    }

    /// <summary>One batch's inference ready to run repeatedly (the NCHW float input made once); dispose after use.</summary>
    public Inference Prepare(byte[] imagesNhwc, int batch) => new(_session, _model.InputShape, imagesNhwc, batch);

    public sealed class Inference : IDisposable
    {
        readonly InferenceSession _session;
        readonly OrtValue _input;
        readonly RunOptions _run = new();
        readonly string[] _inputNames, _outputNames;
        readonly OrtValue[] _inputs;

        internal Inference(InferenceSession session, Shape3 s, byte[] imagesNhwc, int batch)
        {
            _session = session;
            _input = OrtValue.CreateTensorValueFromMemory(ImageLayout.NhwcToNchw(imagesNhwc, s, batch), [batch, s.C, s.H, s.W]);
            _inputNames = [session.InputNames[0]];
            _outputNames = [session.OutputNames[0]];
            _inputs = [_input];
        }

        public void Run()
        {
            using var outputs = _session.Run(_run, _inputNames, _inputs, _outputNames);
        }

        public void Dispose() { _input.Dispose(); _run.Dispose(); }
    }

    public void Dispose()
    {
        _session.Dispose();
        _options.Dispose();
    }
}
