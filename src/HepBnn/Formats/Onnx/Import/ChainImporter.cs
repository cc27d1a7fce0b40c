using HepBnn.Model;
using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>
/// Walks an ONNX graph from its image input to its output along the single chain of activations, turning what it meets
/// into HepBnn layers. Stages: the image (normalization ops, then the first Conv), a layer's integer sums (bias, BatchNorm,
/// max pool, arithmetic: collected in a <see cref="SumsPipeline"/> until a binarization or the output), and ±1 activations
/// (max pool, Flatten/Reshape, the next Conv/Gemm/MatMul). Constant inputs are evaluated by the <see cref="ConstantFolder"/>.
/// Anything else stops the import with the node, its op type and the reason.
/// </summary>
internal sealed class ChainImporter
{
    enum Stage { Image, Sums, Binary }

    readonly OnnxGraph _g;
    readonly ConstantFolder _c;
    readonly string _output;
    readonly List<Layer> _layers = [];
    public Shape3 InputShape { get; }

    Stage _stage = Stage.Image;
    string _cur;
    int _rank = 4;
    Shape3 _shape;
    /// <summary>When the current value is a flattened spatial tensor: the shape it had (ONNX flattens it in c,h,w order).</summary>
    Shape3? _flatFrom;

    // image stage: the model sees (x_raw − _offset[c]) / _divisor
    readonly double[] _offset;
    double _divisor = 1;
    bool _normalized;

    // sums stage
    Func<InputNormalization?, Layer>? _makeMain;
    string _mainName = "";
    int _mainNode = -1;
    SumsPipeline? _pipe;
    double[]? _afterConvOffsets;
    bool _expectNormDiv;

    public ChainImporter(OnnxGraph g, ConstantFolder c)
    {
        _g = g;
        _c = c;
        var inputs = g.Proto.Input.Where(i => !g.Initializers.ContainsKey(i.Name)).ToList();
        if (inputs.Count != 1)
            throw new HepBnnException($"the graph must have exactly one image input, it has {inputs.Count} ({string.Join(", ", inputs.Take(5).Select(i => OnnxGraph.Clip(i.Name)))})");
        if (g.Proto.Output.Count == 0) throw new HepBnnException("the graph has no output");
        _output = g.Proto.Output[0].Name;
        _cur = inputs[0].Name;
        InputShape = ImageShape(inputs[0]);
        _shape = InputShape;
        _offset = new double[InputShape.C];
    }

    static Shape3 ImageShape(ValueInfoProto v)
    {
        string where = $"input '{OnnxGraph.Clip(v.Name)}'";
        if (v.Type?.TensorType is not { } t) throw new HepBnnException($"{where}: must be a tensor");
        if (t.ElemType is not (OnnxTensorReader.Float or OnnxTensorReader.Double or OnnxTensorReader.Uint8))
            throw new HepBnnException($"{where}: element type {OnnxTensorReader.TypeName(t.ElemType)} not supported (float images in raw 0..255 units expected)");
        var dims = t.Shape?.Dim;
        if (dims is null || dims.Count != 4)
            throw new HepBnnException($"{where}: shape must be [N, C, H, W] (found rank {dims?.Count.ToString() ?? "unknown"})");
        int Fixed(int i, string name)
        {
            var d = dims[i];
            if (d.ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue || d.DimValue < 1 || d.DimValue > ModelValidator.MaxDim)
                throw new HepBnnException($"{where}: dimension {name} must be a fixed size 1..{ModelValidator.MaxDim}");
            return (int)d.DimValue;
        }
        return new Shape3(Fixed(2, "H"), Fixed(3, "W"), Fixed(1, "C"));
    }

    public List<Layer> Run()
    {
        for (int steps = 0; ; steps++)
        {
            if (_cur == _output) { Finish(); return _layers; }
            var users = _g.ConsumersOf(_cur);
            if (users.Count == 0)
                throw new HepBnnException($"value '{OnnxGraph.Clip(_cur)}' is not used by any node and is not the graph output '{OnnxGraph.Clip(_output)}'");
            if (users.Count > 1)
                throw new HepBnnException($"value '{OnnxGraph.Clip(_cur)}' feeds {users.Count} nodes ({string.Join(", ", users.Take(3).Select(_g.Describe))}): branching graphs are not supported");
            if (steps > _g.Nodes.Count) throw new HepBnnException("the chain of nodes does not end"); // unreachable: the graph is acyclic
            Step(users[0]);
        }
    }

    void Step(int node)
    {
        var nd = _g.Nodes[node];
        string desc = _g.Describe(node);
        CheckSingleOutput(node, desc);
        if (_expectNormDiv && nd.OpType is not ("Div" or "Cast" or "Identity"))
            throw new HepBnnException($"{desc}: expected the Div that completes the exported input normalization");
        switch (nd.OpType)
        {
            case "Identity":
            case "Dropout":
                Advance(node);
                return;
            case "Cast":
                long to = _g.Int(node, "to", 0);
                if (to is not (OnnxTensorReader.Float or OnnxTensorReader.Double))
                    throw new HepBnnException($"{desc}: casting activations to {OnnxTensorReader.TypeName((int)to)} is not supported");
                Advance(node);
                return;
        }
        switch (_stage)
        {
            case Stage.Image: ImageStep(node, nd, desc); break;
            case Stage.Sums: SumsStep(node, nd, desc); break;
            default: BinaryStep(node, nd, desc); break;
        }
    }

    void Advance(int node) => _cur = _g.Nodes[node].Output[0];

    /// <summary>Only the first output may be used (Dropout's mask, MaxPool's indices, BatchNorm's training outputs must not).</summary>
    void CheckSingleOutput(int node, string desc)
    {
        var outs = _g.Nodes[node].Output;
        if (outs.Count == 0 || outs[0].Length == 0) throw new HepBnnException($"{desc}: has no output");
        for (int i = 1; i < outs.Count; i++)
            if (outs[i].Length > 0 && (_g.ConsumersOf(outs[i]).Count > 0 || _g.GraphOutputs.Contains(outs[i])))
                throw new HepBnnException($"{desc}: its output {i} ('{OnnxGraph.Clip(outs[i])}') is used; only the first output is supported");
    }

    (ConstTensor Value, bool CurrentFirst) OtherOperand(NodeProto nd, string desc)
    {
        if (nd.Input.Count != 2) throw new HepBnnException($"{desc}: expected 2 inputs");
        bool first = nd.Input[0] == _cur;
        if (nd.Input[0] == nd.Input[1]) throw new HepBnnException($"{desc}: uses the activation twice");
        return (_c.Require(nd.Input[first ? 1 : 0], desc), first);
    }

    double[] PerChannel(ConstTensor t, int channels, string desc) =>
        t.PerChannel(_rank, channels) ?? throw new HepBnnException($"{desc}: constant of shape {t.ShapeText} is not a per-channel value for an activation with {channels} channels");

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
                    case "Sub" when first: for (int c = 0; c < v.Length; c++) _offset[c] += v[c] * _divisor; break;
                    case "Add": for (int c = 0; c < v.Length; c++) _offset[c] -= v[c] * _divisor; break;
                    case "Mul": _divisor /= Common(v, desc); break;
                    case "Div" when first: _divisor *= Common(v, desc); break;
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

    static double Common(double[] v, string desc)
    {
        if (v.Any(x => x != v[0]))
            throw new HepBnnException($"{desc}: per-channel scaling of the image is not supported: HepBnn's input normalization has one divisor for all channels (values {string.Join(", ", v.Take(4))})");
        if (v[0] == 0 || !double.IsFinite(v[0])) throw new HepBnnException($"{desc}: scales the image by {v[0]}");
        return v[0];
    }

    // ---------------- main layers ----------------

    void Conv(int node, NodeProto nd, string desc, bool image)
    {
        if (nd.Input.Count < 2 || nd.Input[0] != _cur) throw new HepBnnException($"{desc}: the activation must be the first input");
        if (_rank != 4) throw new HepBnnException($"{desc}: convolution of a flattened tensor is not supported");
        var w = _c.Require(nd.Input[1], desc);
        if (w.Rank != 4) throw new HepBnnException($"{desc}: weights must be [K, C, kh, kw] (found {w.ShapeText})");
        long group = _g.Int(node, "group", 1);
        if (group != 1) throw new HepBnnException($"{desc}: group={group} not supported");
        if (_g.Ints(node, "dilations") is { } dil && dil.Any(d => d != 1)) throw new HepBnnException($"{desc}: dilations [{string.Join(",", dil)}] not supported");
        if (w.Dims[1] != _shape.C) throw new HepBnnException($"{desc}: weights expect {w.Dims[1]} input channels, the input has {_shape.C}");
        if (w.Dims[0] < 1 || w.Dims[0] > ModelValidator.MaxDim || w.Dims[2] < 1 || w.Dims[2] > 64 || w.Dims[3] < 1 || w.Dims[3] > 64)
            throw new HepBnnException($"{desc}: weights of shape {w.ShapeText} out of range (K 1..{ModelValidator.MaxDim}, kernel 1..64)");
        int k = (int)w.Dims[0], kh = (int)w.Dims[2], kw = (int)w.Dims[3], cin = _shape.C;
        if (_g.Ints(node, "kernel_shape") is { } ks && (ks.Length != 2 || ks[0] != kh || ks[1] != kw))
            throw new HepBnnException($"{desc}: kernel_shape [{string.Join(",", ks)}] does not match the weights {w.ShapeText}");
        int stride = Uniform(_g.Ints(node, "strides") ?? [1, 1], 2, desc, "strides", 1, 64);
        int pad = Padding(node, desc, kh, kw, stride);

        var (signs, scale) = BinaryWeights(w, k, desc);
        var weights = new sbyte[signs.Length];
        for (int o = 0; o < k; o++)
            for (int c = 0; c < cin; c++)
                for (int y = 0; y < kh; y++)
                    for (int x = 0; x < kw; x++)
                        weights[((o * kh + y) * kw + x) * cin + c] = signs[((o * cin + c) * kh + y) * kw + x];
        if (!image && _stage != Stage.Binary) throw NotBinarized(desc);
        Func<InputNormalization?, Layer> make = image
            ? norm => new InputConv2d(k, kh, kw, stride, pad, weights, norm)
            : _ => new BinaryConv2d(k, kh, kw, stride, pad, weights);
        StartMain(node, desc, make, scale);
        if (nd.Input.Count > 2 && nd.Input[2].Length > 0)
            _pipe!.Append(new SumsPipeline.Add(Vector(_c.Require(nd.Input[2], desc), k, desc, "bias"), desc));
    }

    int Padding(int node, string desc, int kh, int kw, int stride)
    {
        string auto = _g.String(node, "auto_pad", "NOTSET");
        switch (auto)
        {
            case "NOTSET" or "":
                return Uniform(_g.Ints(node, "pads") ?? [0, 0, 0, 0], 4, desc, "pads", 0, 64);
            case "VALID":
                return 0;
            case "SAME_UPPER" or "SAME_LOWER" when stride == 1 && kh == kw && kh % 2 == 1:
                return kh / 2;
            default:
                throw new HepBnnException($"{desc}: auto_pad={auto} not supported here (only symmetric padding)");
        }
    }

    int Uniform(long[] values, int count, string desc, string name, int min, int max)
    {
        if (values.Length != count) throw new HepBnnException($"{desc}: '{name}' must have {count} values (2-D only)");
        if (values.Any(v => v != values[0]))
            throw new HepBnnException($"{desc}: {name} [{string.Join(",", values)}] not supported: HepBnn uses one value for all sides and axes (symmetric)");
        if (values[0] < min || values[0] > max) throw new HepBnnException($"{desc}: {name} {values[0]} out of range {min}..{max}");
        return (int)values[0];
    }

    /// <summary>Weights that are ±a per output channel (a ≠ 0): their signs, and a per channel (1 for plain ±1 weights;
    /// other values appear when an exporter folded a BatchNorm scale into them).</summary>
    static (sbyte[] Signs, double[] Scale) BinaryWeights(ConstTensor w, int k, string desc)
    {
        long per = w.Count / k;
        var signs = new sbyte[w.Count];
        var scale = new double[k];
        for (int o = 0; o < k; o++)
        {
            double m = Math.Abs(w.Data[o * per]);
            for (long j = 0; j < per; j++)
            {
                double v = w.Data[o * per + j];
                if (v == 0 || !double.IsFinite(v))
                    throw new HepBnnException($"{desc}: weight {o * per + j} is {v}: binary weights must be ±1 (binarize them in the graph, e.g. Sign(W))");
                if (Math.Abs(v) != m)
                    throw new HepBnnException($"{desc}: output channel {o} has weights {m} and {Math.Abs(v)} in magnitude: not binary (±1 or ±a per channel)");
                signs[o * per + j] = v > 0 ? (sbyte)1 : (sbyte)-1;
            }
            scale[o] = m;
        }
        return (signs, scale);
    }

    static double[] Vector(ConstTensor t, int n, string desc, string what)
    {
        if (t.Count == 1) return Enumerable.Repeat(t.Data[0], n).ToArray();
        if (t.Count != n || t.Dims.Count(d => d != 1) > 1)
            throw new HepBnnException($"{desc}: {what} of shape {t.ShapeText} must have {n} values");
        return t.Data.ToArray();
    }

    void Dense(int node, NodeProto nd, string desc)
    {
        if (_stage != Stage.Binary) throw _stage == Stage.Image ? Unsupported(desc, "as the first layer (the image layer must be a Conv)") : NotBinarized(desc);
        if (nd.Input.Count < 2 || nd.Input[0] != _cur) throw new HepBnnException($"{desc}: the activation must be the first input");
        if (_rank != 2) throw new HepBnnException($"{desc}: the input must be flattened first (Flatten or Reshape to [N, features])");
        bool gemm = nd.OpType == "Gemm";
        if (gemm && _g.Int(node, "transA", 0) != 0) throw new HepBnnException($"{desc}: transA=1 not supported");
        bool transB = gemm && _g.Int(node, "transB", 0) != 0;
        double alpha = gemm ? _g.Float(node, "alpha", 1) : 1, beta = gemm ? _g.Float(node, "beta", 1) : 1;
        var b = _c.Require(nd.Input[1], desc);
        long features = _shape.Elements;
        if (b.Rank != 2 || b.Dims[transB ? 1 : 0] != features)
            throw new HepBnnException($"{desc}: weights of shape {b.ShapeText} do not match {features} input features{(transB ? " (transB=1)" : "")}");
        long kl = b.Dims[transB ? 0 : 1];
        if (kl < 1 || kl > ModelValidator.MaxDim) throw new HepBnnException($"{desc}: {kl} output features out of range 1..{ModelValidator.MaxDim}");
        int k = (int)kl;
        if (!(alpha > 0) || !double.IsFinite(alpha)) throw new HepBnnException($"{desc}: alpha={alpha} not supported (must be > 0)");
        var rows = transB ? b : new ConstTensor([k, features], Transposed(b.Data, features, k), b.ElemType);
        var (signs, scale) = BinaryWeights(rows, k, desc);
        for (int o = 0; o < k; o++) scale[o] *= alpha;
        var weights = FeaturesToEngineOrder(signs, k, desc);
        StartMain(node, desc, _ => new BinaryDense(k, weights), scale);
        if (gemm && nd.Input.Count > 2 && nd.Input[2].Length > 0 && beta != 0)
        {
            var c = PerChannel(_c.Require(nd.Input[2], desc), k, desc);
            _pipe!.Append(new SumsPipeline.Add(c.Select(v => v * beta).ToArray(), desc));
        }
    }

    static double[] Transposed(double[] d, long rows, long cols)
    {
        var r = new double[d.Length];
        for (long i = 0; i < rows; i++)
            for (long j = 0; j < cols; j++) r[j * rows + i] = d[i * cols + j];
        return r;
    }

    /// <summary>ONNX flattens NCHW in (c, h, w) order, the engine in (h, w, c): permute each weight row.</summary>
    sbyte[] FeaturesToEngineOrder(sbyte[] rows, int k, string desc)
    {
        if (_flatFrom is not { } s || s.Pixels == 1) return rows;
        long f = s.Elements;
        var r = new sbyte[rows.Length];
        for (long o = 0; o < k; o++)
            for (int c = 0; c < s.C; c++)
                for (int y = 0; y < s.H; y++)
                    for (int x = 0; x < s.W; x++)
                        r[o * f + ((long)y * s.W + x) * s.C + c] = rows[o * f + ((long)c * s.H + y) * s.W + x];
        return r;
    }

    void StartMain(int node, string desc, Func<InputNormalization?, Layer> make, double[] scale)
    {
        _shape = ShapeAfter(make(null), desc);
        _makeMain = make;
        _mainName = desc;
        _mainNode = node;
        _pipe = new SumsPipeline(_shape.C, scale, desc);
        _stage = Stage.Sums;
        _rank = _makeMain(null) is BinaryDense ? 2 : 4;
        _flatFrom = null;
        Advance(node);
    }

    Shape3 ShapeAfter(Layer layer, string desc)
    {
        try { return ModelValidator.OutputShapes(_shape, [layer])[0]; }
        catch (HepBnnException e)
        {
            string m = e.Message;
            int colon = m.IndexOf("): ", StringComparison.Ordinal);
            throw new HepBnnException($"{desc}: {(m.StartsWith("layer 0 (", StringComparison.Ordinal) && colon > 0 ? m[(colon + 3)..] : m)}");
        }
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
                _divisor = d.Data[0];
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
            norm = new InputNormalization(_afterConvOffsets ?? _offset, _divisor);
        _layers.Add(_makeMain(norm));
    }

    // ---------------- ±1 activations ----------------

    void BinaryStep(int node, NodeProto nd, string desc)
    {
        switch (nd.OpType)
        {
            case "MaxPool":
            {
                var pool = Pool(node, desc);
                if (!PoolMerge.TryMerge(_layers, pool, desc)) _layers.Add(pool);
                Advance(node);
                return;
            }
            case "Flatten":
            {
                long axis = _g.Int(node, "axis", 1);
                if (axis < 0) axis += _rank;
                if (axis != 1) throw new HepBnnException($"{desc}: axis={_g.Int(node, "axis", 1)} not supported (only flattening per sample, axis 1)");
                _layers.Add(new Flatten());
                Flattened();
                Advance(node);
                return;
            }
            case "Reshape":
            {
                if (nd.Input.Count != 2 || nd.Input[0] != _cur) throw new HepBnnException($"{desc}: expected Reshape(activation, shape)");
                var target = _c.Require(nd.Input[1], desc).AsInt64(desc);
                long f = _shape.Elements;
                bool ok = target.Length == 2 && (target[0] is 0 or -1 or 1) && (target[1] == f || (target[1] == -1 && target[0] != -1))
                          && !(target[0] == 0 && _g.Int(node, "allowzero", 0) != 0);
                if (!ok) throw new HepBnnException($"{desc}: only flattening each sample to [N, {f}] is supported (target [{string.Join(",", target)}])");
                Flattened();
                Advance(node);
                return;
            }
            case "Conv":
                Conv(node, nd, desc, image: false);
                return;
            case "Gemm" or "MatMul":
                Dense(node, nd, desc);
                return;
            default:
                throw Unsupported(desc, "on ±1 activations");
        }
    }

    void Flattened()
    {
        if (_rank == 4) _flatFrom = _shape;
        _rank = 2;
        _shape = new Shape3(1, 1, checked((int)_shape.Elements));
    }

    // ---------------- the output ----------------

    void Finish()
    {
        switch (_stage)
        {
            case Stage.Image: throw new HepBnnException($"no Conv between the input and the output '{OnnxGraph.Clip(_output)}'");
            case Stage.Binary: throw new HepBnnException($"the output '{OnnxGraph.Clip(_output)}' is binarized (±1): the last layer must produce class scores");
        }
        var bn = _pipe!.CloseScores(_mainName, ExactScale);
        AddMain();
        if (bn is not null) _layers.Add(new ScoreBatchNorm(bn));
    }

    static HepBnnException Unsupported(string desc, string context) => new($"{desc}: not supported {context}");

    HepBnnException NotBinarized(string desc) =>
        new($"{desc}: its input is not binarized (add Sign, or BatchNorm then Where(x >= 0, 1, -1), after {_mainName})");
}
