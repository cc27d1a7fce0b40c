using Google.Protobuf;
using HepBnn.Formats.Onnx.Export;
using HepBnn.Model;
using Onnx;
using B = HepBnn.Formats.Onnx.Export.OnnxGraphBuilder;

namespace HepBnn.Formats.Onnx;

/// <summary>
/// Writes a model as a standard ONNX graph (opset 17) that ONNX Runtime runs: input "image" float [N, C, H, W] in raw 0..255
/// pixel units, output "scores" [N, classes]. ±1 weights are float constants, activations are Where(x ≥ 0, 1, −1) (so
/// sign(0) = +1, unlike ONNX Sign), dense weights are permuted to ONNX's (c, h, w) flattening order. With
/// <see cref="OnnxPrecision.Exact"/> (default) <see cref="OnnxImporter"/> gives back the same model (same ModelHash);
/// the layout of each pattern is documented in docs/MODEL_FORMATS.md.
/// </summary>
public static class OnnxExporter
{
    public const int Opset = 17;
    const long IrVersion = 8;

    public static void ExportFile(BnnModel model, string path, OnnxExportOptions? options = null)
    {
        AtomicFile.Write(path, Export(model, options), "ONNX file");
    }

    public static byte[] Export(BnnModel model, OnnxExportOptions? options = null) => ToProto(model, options ?? new()).ToByteArray();

    internal static ModelProto ToProto(BnnModel model, OnnxExportOptions o)
    {
        var w = new Writer(model, o);
        var graph = w.Build();
        var m = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "HepBnn",
            ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
            Graph = graph,
            DocString = "Binarized neural network exported by HepBnn. Input: float NCHW images in raw 0..255 pixel units. " +
                        "Output 'scores': class scores. Activations are Where(x >= 0, 1, -1), i.e. sign(0) = +1.",
        };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        m.MetadataProps.Add(new StringStringEntryProto { Key = "hepbnn.model_hash", Value = ModelHash.Compute(model) });
        m.MetadataProps.Add(new StringStringEntryProto { Key = "hepbnn.precision", Value = o.Precision.ToString() });
        ClassNamesMetadata.Write(m, model.ClassNames);
        return m;
    }

    sealed class Writer(BnnModel model, OnnxExportOptions o)
    {
        readonly B _b = new();
        bool Exact => o.Precision == OnnxPrecision.Exact;
        string _cur = "";
        int _rank = 4;
        bool _double;
        Shape3 _shape;
        /// <summary>Shape of the spatial tensor the current flat one came from (ONNX flattens it in c, h, w order).</summary>
        Shape3? _flatFrom;
        string _lastSums = "";

        public GraphProto Build()
        {
            _b.Graph.Name = model.Name;
            _cur = _b.Unique("image");
            _shape = model.InputShape;
            var shapes = model.LayerOutputShapes();
            for (int i = 0; i < model.Layers.Count; i++)
            {
                string p = $"layer{i}";
                switch (model.Layers[i])
                {
                    case InputConv2d c: InputConv(p, c); break;
                    case BinaryConv2d c:
                        if (_rank != 4) throw new HepBnnException($"layer {i} (BinaryConv2d): a convolution after Flatten cannot be exported");
                        Sums(Conv(p, _cur, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights, out _, out _));
                        break;
                    case BinaryDense d: Dense(p, d); break;
                    case MaxPool2d mp:
                        if (_rank != 4) throw new HepBnnException($"layer {i} (MaxPool2d): pooling after Flatten cannot be exported");
                        _cur = _b.Node("MaxPool", $"{p}.maxpool", [_cur], B.Ints("kernel_shape", mp.Size, mp.Size), B.Ints("strides", mp.Stride, mp.Stride));
                        break;
                    case BatchNormSign bn: BatchNormSign(p, bn.Params, i); break;
                    case ScoreBatchNorm bn: ScoreBatchNorm(p, bn.Params, i); break;
                    case Flatten:
                        _cur = _b.Node("Flatten", $"{p}.flatten", [_cur], B.Int("axis", 1));
                        if (_rank == 4) _flatFrom = _shape;
                        _rank = 2;
                        break;
                }
                _shape = shapes[i];
            }
            return Finish();
        }

        void Sums(string value) { _cur = _lastSums = value; _double = false; }

        string Conv(string p, string input, int k, int kh, int kw, int stride, int pad, sbyte[] weights, out AttributeProto[] attrs, out string wName)
        {
            int c = _shape.C;
            var wf = new float[weights.Length];
            for (int o2 = 0; o2 < k; o2++)
                for (int ch = 0; ch < c; ch++)
                    for (int y = 0; y < kh; y++)
                        for (int x = 0; x < kw; x++)
                            wf[((o2 * c + ch) * kh + y) * kw + x] = weights[((o2 * kh + y) * kw + x) * c + ch];
            wName = _b.Floats($"{p}.weight", [k, c, kh, kw], wf);
            attrs = [B.Ints("kernel_shape", kh, kw), B.Ints("strides", stride, stride), B.Ints("pads", pad, pad, pad, pad),
                     B.Ints("dilations", 1, 1), B.Int("group", 1)];
            return _b.Node("Conv", $"{p}.conv", [input, wName], attrs);
        }

        void InputConv(string p, InputConv2d c)
        {
            var s = model.InputShape;
            var norm = c.Normalization;
            if (norm is { IsPerChannel: true } && Exact)
                throw new HepBnnException($"{p}: the exact (float64) ONNX export of per-channel normalization divisors is not built; export with float32 precision (`hepbnn export --float32`; Sub and Div by [1,C,1,1] constants before the Conv, as PyTorch writes them)");
            if (norm is not null && !Exact)
            {
                string off = _b.Floats($"{p}.norm_offset", [1, s.C, 1, 1], norm.Offset.Select(v => (float)v).ToArray());
                _cur = _b.Node("Sub", $"{p}.norm_sub", [_cur, off]);
                string divisor = norm.ChannelDivisors is { } d
                    ? _b.Floats($"{p}.norm_divisor", [1, s.C, 1, 1], d.Select(v => (float)v).ToArray())
                    : _b.ScalarFloat($"{p}.norm_divisor", (float)norm.Divisor);
                _cur = _b.Node("Div", $"{p}.norm_div", [_cur, divisor]);
            }
            string conv = Conv(p, _cur, c.OutChannels, c.KernelH, c.KernelW, c.Stride, c.Padding, c.Weights, out var attrs, out string wName);
            Sums(conv);
            if (norm is null || !Exact) return;
            // (x − o)/d convolved with zero padding = (conv(x) − conv(O))/d, O = the offset image: conv(x) is exact in float32
            // on raw pixels, conv(O) = Σ_c o_c·conv(E_c) with one-hot images E_c (exact integers), summed in float64.
            var onehot = new float[(long)s.C * s.C * s.H * s.W];
            for (int img = 0; img < s.C; img++) Array.Fill(onehot, 1f, (img * s.C + img) * s.H * s.W, s.H * s.W);
            string e = _b.Floats($"{p}.norm_onehot", [s.C, s.C, s.H, s.W], onehot);
            string perChannel = _b.Node("Conv", $"{p}.norm_conv", [e, wName], attrs);
            string asDouble = _b.Node("Cast", $"{p}.norm_cast", [perChannel], B.Int("to", B.Double));
            string weighted = _b.Node("Mul", $"{p}.norm_weighted", [asDouble, _b.Doubles($"{p}.norm_offset", [s.C, 1, 1, 1], norm.Offset)]);
            string offsetSum = _b.Node("ReduceSum", $"{p}.norm_offset_sum", [weighted, _b.Int64s($"{p}.norm_axes", [1], [0])], B.Int("keepdims", 1));
            _cur = _b.Node("Cast", $"{p}.sums_double", [_cur], B.Int("to", B.Double));
            _cur = _b.Node("Sub", $"{p}.norm_sub", [_cur, offsetSum]);
            _cur = _b.Node("Div", $"{p}.norm_div", [_cur, _b.ScalarDouble($"{p}.norm_divisor", norm.Divisor)]);
            _double = true;
        }

        void Dense(string p, BinaryDense d)
        {
            var s = _rank == 4 ? _shape : _flatFrom ?? _shape;
            if (_rank == 4)
            {
                // a dense layer straight on a spatial tensor (no Flatten layer in the model): Reshape, which import maps back
                _cur = _b.Node("Reshape", $"{p}.reshape", [_cur, _b.Int64s($"{p}.shape", [2], [0, -1])]);
                _rank = 2;
            }
            long f = s.Elements;
            var wf = new float[d.Weights.LongLength];
            for (long k = 0; k < d.OutFeatures; k++)
                for (int y = 0; y < s.H; y++)
                    for (int x = 0; x < s.W; x++)
                        for (int c = 0; c < s.C; c++)
                            wf[k * f + ((long)c * s.H + y) * s.W + x] = d.Weights[k * f + ((long)y * s.W + x) * s.C + c];
            string wName = _b.Floats($"{p}.weight", [d.OutFeatures, f], wf);
            Sums(_b.Node("Gemm", $"{p}.gemm", [_cur, wName], B.Int("transB", 1)));
            _flatFrom = null;
        }

        long[] ParamDims(int k) => _rank == 4 ? [1, k, 1, 1] : [1, k];

        /// <summary>(x − μ)·Div(γ, Sqrt(var + ε)) + β in float64: the reference's own BatchNorm arithmetic.</summary>
        string ExactBatchNorm(string p, BatchNormParams bn, int layer)
        {
            for (int c = 0; c < bn.Channels; c++)
                if (!(bn.Variance[c] + bn.Epsilon > 0))
                    throw new HepBnnException($"layer {layer}: BatchNorm channel {c} has variance + ε = 0, which the ONNX export cannot express exactly");
            var dims = ParamDims(bn.Channels);
            string x = _double ? _cur : _b.Node("Cast", $"{p}.bn_cast", [_cur], B.Int("to", B.Double));
            string varEps = _b.Node("Add", $"{p}.bn_var_eps", [_b.Doubles($"{p}.bn_var", dims, bn.Variance), _b.ScalarDouble($"{p}.bn_eps", bn.Epsilon)]);
            string scale = _b.Node("Div", $"{p}.bn_scale", [_b.Doubles($"{p}.bn_gamma", dims, bn.Gamma), _b.Node("Sqrt", $"{p}.bn_std", [varEps])]);
            string centered = _b.Node("Sub", $"{p}.bn_sub_mean", [x, _b.Doubles($"{p}.bn_mean", dims, bn.Mean)]);
            string scaled = _b.Node("Mul", $"{p}.bn_mul_scale", [centered, scale]);
            _double = true;
            return _b.Node("Add", $"{p}.bn_add_beta", [scaled, _b.Doubles($"{p}.bn_beta", dims, bn.Beta)]);
        }

        string FloatBatchNorm(string p, BatchNormParams bn)
        {
            float[] F(double[] v) => v.Select(x => (float)x).ToArray();
            long[] d = [bn.Channels];
            _double = false;
            return _b.Node("BatchNormalization", $"{p}.batchnorm",
                [_cur, _b.Floats($"{p}.bn_gamma", d, F(bn.Gamma)), _b.Floats($"{p}.bn_beta", d, F(bn.Beta)),
                 _b.Floats($"{p}.bn_mean", d, F(bn.Mean)), _b.Floats($"{p}.bn_var", d, F(bn.Variance))],
                B.FloatAttr("epsilon", (float)bn.Epsilon));
        }

        void BatchNormSign(string p, BatchNormParams bn, int layer)
        {
            string y = Exact ? ExactBatchNorm(p, bn, layer) : FloatBatchNorm(p, bn);
            string zero = _double ? _b.ScalarDouble($"{p}.zero", 0) : _b.ScalarFloat($"{p}.zero", 0);
            string cond = _b.Node("GreaterOrEqual", $"{p}.sign_ge", [y, zero]);
            _cur = _b.Node("Where", $"{p}.sign", [cond, _b.ScalarFloat($"{p}.plus_one", 1), _b.ScalarFloat($"{p}.minus_one", -1)]);
            _double = false;
        }

        void ScoreBatchNorm(string p, BatchNormParams bn, int layer) =>
            _cur = Exact ? ExactBatchNorm(p, bn, layer) : FloatBatchNorm(p, bn);

        GraphProto Finish()
        {
            var g = _b.Graph;
            var s = model.InputShape;
            g.Input.Add(B.TensorInfo("image", B.Float, "batch", s.C, s.H, s.W));
            var outShape = model.LayerOutputShapes()[^1];
            object[] dims = _rank == 2 ? ["batch", outShape.C] : ["batch", outShape.C, outShape.H, outShape.W];
            bool sameAsSums = _cur == _lastSums;
            string scores = _b.Rename(_cur, "scores");
            g.Output.Add(B.TensorInfo(scores, _double ? B.Double : B.Float, dims));
            if (o.RawScoresOutput)
            {
                string raw = sameAsSums ? _b.Node("Identity", "raw_scores", [scores]) : _b.Rename(_lastSums, "raw_scores");
                g.Output.Add(B.TensorInfo(raw, B.Float, dims));
            }
            return g;
        }
    }
}
