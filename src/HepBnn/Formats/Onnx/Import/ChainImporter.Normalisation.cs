using HepBnn.Model;
using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>Normalisation patterns: the image stage (Sub/Add/Div/Mul chains folded into the input normalisation) and a
/// layer's sums (BatchNorm, Mul/Add affine, MaxPool, the comparison that binarizes them into thresholds).</summary>
internal sealed partial class ChainImporter
{
    // ---------------- image stage ----------------

    void ImageStep(int node, NodeProto nd, string desc)
    {
        switch (nd.OpType)
        {
            case "Sub" or "Add" or "Mul" or "Div":
            {
                var (k, first) = OtherOperand(nd, desc);
                var v = PerChannel(k, InputShape.C, desc);
                switch (nd.OpType)
                {
                    case "Sub" when first: for (int c = 0; c < v.Length; c++) _offset[c] += v[c] * _divisors[c]; break;
                    case "Add": for (int c = 0; c < v.Length; c++) _offset[c] -= v[c] * _divisors[c]; break;
                    case "Mul": for (int c = 0; c < v.Length; c++) _divisors[c] /= Scale(v[c], desc); break;
                    case "Div" when first: for (int c = 0; c < v.Length; c++) _divisors[c] *= Scale(v[c], desc); break;
                    default: throw new HepBnnException($"{desc}: the image must be the first operand");
                }
                _normalized = true;
                Advance(node);
                return;
            }
            case "Conv":
                Conv(node, nd, desc, image: true);
                return;
            default:
                throw Unsupported(desc, "on the image input (expected normalization Sub/Add/Mul/Div or the first Conv)");
        }
    }

    /// <summary>A scale of the image (one per channel, or one for all): per-channel values are exact too (DESIGN.md
    /// "First layer"); only 0 and non-finite scales are refused.</summary>
    static double Scale(double v, string desc)
    {
        if (v == 0 || !double.IsFinite(v)) throw new HepBnnException($"{desc}: scales the image by {v}");
        return v;
    }

    // ---------------- a layer's sums ----------------

    void SumsStep(int node, NodeProto nd, string desc)
    {
        var p = _pipe!;
        switch (nd.OpType)
        {
            case "Sub" when _makeMain!(null) is InputConv2d && p.IsEmpty && !_normalized && _afterConvOffsets is null && nd.Input.Count == 2 && nd.Input[0] == _cur
                            && ExportPatterns.TryNormalizationOffsets(_g, _c, nd.Input[1], _mainNode, InputShape) is { } offsets:
                _afterConvOffsets = offsets;
                _expectNormDiv = true;
                Advance(node);
                return;
            case "Div" when _expectNormDiv:
            {
                var (d, first) = OtherOperand(nd, desc);
                if (!first || !d.IsSingleValue) throw new HepBnnException($"{desc}: the exported normalization divides by one scalar");
                Array.Fill(_divisors, d.Data[0]);
                _normalized = true;
                _expectNormDiv = false;
                Advance(node);
                return;
            }
            case "Add" or "Sub" or "Mul" or "Div":
            {
                var (t, first) = OtherOperand(nd, desc);
                var v = PerChannel(t, p.Channels, desc);
                string operand = nd.Input[first ? 1 : 0];
                switch (nd.OpType)
                {
                    case "Add": p.Append(new SumsPipeline.Add(v, desc)); break;
                    case "Mul": p.Append(new SumsPipeline.Mul(v, desc, operand)); break;
                    case "Sub" when first: p.Append(new SumsPipeline.Sub(v, desc)); break;
                    case "Sub":
                        p.Append(new SumsPipeline.Mul(Enumerable.Repeat(-1.0, v.Length).ToArray(), desc, ""));
                        p.Append(new SumsPipeline.Add(v, desc));
                        break;
                    case "Div" when first: p.Append(new SumsPipeline.Div(v, desc)); break;
                    default: throw new HepBnnException($"{desc}: dividing by the activations is not supported");
                }
                Advance(node);
                return;
            }
            case "BatchNormalization":
                p.Append(new SumsPipeline.Bn(BatchNorm(node, nd, desc, p.Channels), desc));
                Advance(node);
                return;
            case "MaxPool":
                p.Append(new SumsPipeline.Pool(Pool(node, desc), desc));
                Advance(node);
                return;
            case "Sign":
                CloseBinarized(SumsPipeline.Decision.GreaterOrEqual, new double[p.Channels], desc);
                Advance(node);
                return;
            case "GreaterOrEqual" or "Greater" or "LessOrEqual" or "Less":
                Comparison(node, nd, desc);
                return;
            case "Conv" or "Gemm" or "MatMul":
                throw NotBinarized(desc);
            default:
                throw Unsupported(desc, $"on the sums of {_mainName}");
        }
    }

    BatchNormParams BatchNorm(int node, NodeProto nd, string desc, int channels)
    {
        if (nd.Input.Count < 5 || nd.Input[0] != _cur) throw new HepBnnException($"{desc}: expected inputs X, scale, B, mean, var");
        if (_g.Int(node, "training_mode", 0) != 0) throw new HepBnnException($"{desc}: training_mode=1 not supported (export the model in eval mode)");
        if (_g.Int(node, "spatial", 1) != 1) throw new HepBnnException($"{desc}: spatial=0 not supported");
        double[] V(int i, string what) => Vector(_c.Require(nd.Input[i], desc), channels, desc, what);
        double eps = (float)_g.Float(node, "epsilon", 1e-5f);
        return new BatchNormParams(V(1, "scale"), V(2, "B"), V(3, "mean"), V(4, "var"), eps);
    }

    MaxPool2d Pool(int node, string desc)
    {
        if (_rank != 4) throw new HepBnnException($"{desc}: max pooling a flattened tensor is not supported");
        var ks = _g.Ints(node, "kernel_shape") ?? throw new HepBnnException($"{desc}: kernel_shape missing");
        int size = Uniform(ks, 2, desc, "kernel_shape", 1, ModelValidator.MaxDim);
        int stride = Uniform(_g.Ints(node, "strides") ?? [1, 1], 2, desc, "strides", 1, ModelValidator.MaxDim);
        if (_g.Ints(node, "pads") is { } pads && pads.Any(x => x != 0)) throw new HepBnnException($"{desc}: padded max pooling not supported");
        if (_g.String(node, "auto_pad", "NOTSET") is not ("NOTSET" or "" or "VALID")) throw new HepBnnException($"{desc}: auto_pad not supported");
        if (_g.Ints(node, "dilations") is { } dil && dil.Any(d => d != 1)) throw new HepBnnException($"{desc}: dilations not supported");
        var layer = new MaxPool2d(size, stride);
        if (_g.Int(node, "ceil_mode", 0) != 0 && size <= _shape.H && size <= _shape.W && ((_shape.H - size) % stride != 0 || (_shape.W - size) % stride != 0))
            throw new HepBnnException($"{desc}: ceil_mode=1 not supported (it changes the output size here)");
        _shape = ShapeAfter(layer, desc);
        return layer;
    }

    void Comparison(int node, NodeProto nd, string desc)
    {
        var (t, first) = OtherOperand(nd, desc);
        var threshold = PerChannel(t, _pipe!.Channels, desc);
        var d = (nd.OpType, first) switch
        {
            ("GreaterOrEqual", true) or ("LessOrEqual", false) => SumsPipeline.Decision.GreaterOrEqual,
            ("Greater", true) or ("Less", false) => SumsPipeline.Decision.Greater,
            ("LessOrEqual", true) or ("GreaterOrEqual", false) => SumsPipeline.Decision.LessOrEqual,
            _ => SumsPipeline.Decision.Less,
        };
        // the boolean must become ±1: Where(cond, 1, −1), Where(cond, −1, 1) or Not then Where
        string cond = nd.Output[0];
        var users = _g.ConsumersOf(cond);
        if (users.Count == 1 && _g.Nodes[users[0]].OpType == "Not")
        {
            CheckSingleOutput(users[0], _g.Describe(users[0]));
            d = Negate(d);
            cond = _g.Nodes[users[0]].Output[0];
            users = _g.ConsumersOf(cond);
        }
        if (users.Count != 1 || _g.Nodes[users[0]].OpType != "Where" || _g.Nodes[users[0]].Input.Count != 3 || _g.Nodes[users[0]].Input[0] != cond)
            throw new HepBnnException($"{desc}: a comparison must feed exactly one Where(cond, 1, -1) that makes the ±1 activations");
        int where = users[0];
        string wdesc = _g.Describe(where);
        CheckSingleOutput(where, wdesc);
        var wn = _g.Nodes[where];
        var yes = _c.Require(wn.Input[1], wdesc);
        var no = _c.Require(wn.Input[2], wdesc);
        if (!yes.IsSingleValue || !no.IsSingleValue) throw new HepBnnException($"{wdesc}: the two values must be scalars 1 and -1");
        if (yes.Data[0] == -1 && no.Data[0] == 1) d = Negate(d);
        else if (!(yes.Data[0] == 1 && no.Data[0] == -1)) throw new HepBnnException($"{wdesc}: values {yes.Data[0]} and {no.Data[0]} are not binary (1 and -1)");
        CloseBinarized(d, threshold, desc);
        Advance(where);
    }

    static SumsPipeline.Decision Negate(SumsPipeline.Decision d) => d switch
    {
        SumsPipeline.Decision.GreaterOrEqual => SumsPipeline.Decision.Less,
        SumsPipeline.Decision.Greater => SumsPipeline.Decision.LessOrEqual,
        SumsPipeline.Decision.LessOrEqual => SumsPipeline.Decision.Greater,
        _ => SumsPipeline.Decision.GreaterOrEqual,
    };

    void CloseBinarized(SumsPipeline.Decision d, double[] threshold, string desc)
    {
        var (before, bn, after) = _pipe!.CloseBinarized(d, threshold, desc, ExactScale);
        AddMain();
        if (before is not null) _layers.Add(before);
        _layers.Add(new BatchNormSign(bn));
        if (after is not null) _layers.Add(after);
        _pipe = null;
        _stage = Stage.Binary;
    }

    bool ExactScale(string operand, out double[] gamma, out double[] variance, out double epsilon) =>
        ExportPatterns.TryBatchNormScale(_g, _c, operand, _rank, _pipe!.Channels, out gamma, out variance, out epsilon);

    void AddMain()
    {
        if (_expectNormDiv) throw new HepBnnException($"{_mainName}: the exported input normalization is incomplete (Div missing)");
        InputNormalization? norm = null;
        if (_makeMain!(null) is InputConv2d && _normalized)
            norm = InputNormalization.Create(_afterConvOffsets ?? _offset, (double[])_divisors.Clone());
        _layers.Add(_makeMain(norm));
    }

}
