using HepBnn.Model;
using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>Op translators: Conv / Gemm / MatMul into layers (weights re-laid out, shapes inferred) and the ±1
/// activation stage (Sign-like ops, Flatten/Reshape between layers).</summary>
internal sealed partial class ChainImporter
{
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

}
