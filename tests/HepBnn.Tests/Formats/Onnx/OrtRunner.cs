using HepBnn.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace HepBnn.Tests.Formats.Onnx;

/// <summary>Runs an ONNX model with ONNX Runtime's CPU provider on HepBnn-layout images (NHWC bytes).</summary>
public static class OrtRunner
{
    /// <summary>Each output as doubles, [batch][...] flattened in ONNX order.</summary>
    public static Dictionary<string, double[]> Run(byte[] onnx, Shape3 input, byte[] imagesNhwc, int batch)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(onnx, options);
        var t = new DenseTensor<float>(ToNchw(input, imagesNhwc, batch), [batch, input.C, input.H, input.W]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.First(), t)]);
        var outputs = new Dictionary<string, double[]>();
        foreach (var r in results)
            outputs[r.Name] = r.ElementType == TensorElementType.Double
                ? r.AsEnumerable<double>().ToArray()
                : r.AsEnumerable<float>().Select(v => (double)v).ToArray();
        return outputs;
    }

    public static float[] ToNchw(Shape3 s, byte[] nhwc, int batch)
    {
        var r = new float[batch * s.Elements];
        for (int n = 0; n < batch; n++)
            for (int y = 0; y < s.H; y++)
                for (int x = 0; x < s.W; x++)
                    for (int c = 0; c < s.C; c++)
                        r[((n * s.C + c) * s.H + y) * s.W + x] = nhwc[((n * s.H + y) * s.W + x) * s.C + c];
        return r;
    }
}
