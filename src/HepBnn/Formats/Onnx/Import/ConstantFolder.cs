using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>
/// Evaluates the constant parts of a graph in float64: initializers, Constant nodes and the small set of ops exporters put
/// on weights (e.g. <c>Sign(W)</c>, <c>Where(W ≥ 0, 1, −1)</c>, <c>Transpose</c>, scalar arithmetic). Arithmetic on FLOAT
/// tensors rounds each result to float32, as a float32 runtime would. Bounded: expression depth ≤ <see cref="MaxDepth"/>
/// and all folded values together ≤ an element budget proportional to the file size.
/// </summary>
internal sealed class ConstantFolder
{
    const int MaxDepth = 64;
    readonly OnnxGraph _g;
    readonly Dictionary<string, ConstTensor> _memo = new(StringComparer.Ordinal);
    readonly HashSet<string> _nonConstant = new(StringComparer.Ordinal);
    long _budget;

    public ConstantFolder(OnnxGraph graph, long elementBudget)
    {
        _g = graph;
        _budget = elementBudget;
    }

    static readonly HashSet<string> Foldable =
    [
        "Constant", "Identity", "Cast", "Sign", "Neg", "Abs", "Sqrt", "Reciprocal", "Add", "Sub", "Mul", "Div", "Where",
        "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "Equal", "Not", "Transpose", "Reshape", "Unsqueeze", "Squeeze",
    ];

    /// <summary>The value of <paramref name="name"/> when it is a constant expression; null when it depends on the graph input
    /// or on an op this folder does not evaluate.</summary>
    public ConstTensor? TryGet(string name) => Eval(name, 0);

    public ConstTensor Require(string name, string where) =>
        TryGet(name) ?? throw new HepBnnException($"{where}: input '{OnnxGraph.Clip(name)}' must be a constant (an initializer or computed from initializers only)");

    ConstTensor? Eval(string name, int depth)
    {
        if (_memo.TryGetValue(name, out var hit)) return hit;
        if (_nonConstant.Contains(name) || name.Length == 0) return null;
        ConstTensor? result = null;
        if (_g.Initializers.TryGetValue(name, out var init))
        {
            // IR < 4 lists initializers among the graph inputs too; like ONNX Runtime, treat them as the constants they are
            result = Charge(OnnxTensorReader.Read(init, $"initializer '{OnnxGraph.Clip(name)}'"));
        }
        else if (_g.Producer.TryGetValue(name, out int node) && Foldable.Contains(_g.Nodes[node].OpType))
        {
            if (depth >= MaxDepth) throw new HepBnnException($"{_g.Describe(node)}: constant expression nested deeper than {MaxDepth}");
            var inputs = new List<ConstTensor?>();
            bool allConstant = true;
            foreach (var i in _g.Nodes[node].Input)
            {
                var v = i.Length == 0 ? null : Eval(i, depth + 1);
                if (i.Length > 0 && v is null) { allConstant = false; break; }
                inputs.Add(v);
            }
            if (allConstant) result = Charge(Evaluate(node, inputs));
        }
        if (result is null) _nonConstant.Add(name);
        else _memo[name] = result;
        return result;
    }

    ConstTensor Charge(ConstTensor t)
    {
        _budget -= t.Count;
        if (_budget < 0) throw new HepBnnException("constant folding exceeds its budget (constants far larger than the file's data)");
        return t;
    }

    void Reserve(long elements, int node)
    {
        if (elements < 0 || elements > _budget || elements > Array.MaxLength) throw new HepBnnException($"{_g.Describe(node)}: result of {elements} elements exceeds the constant folding budget");
    }

    ConstTensor Evaluate(int node, List<ConstTensor?> inp)
    {
        var nd = _g.Nodes[node];
        string where = _g.Describe(node);
        ConstTensor In(int i) => i < inp.Count && inp[i] is { } t ? t : throw new HepBnnException($"{where}: missing input {i}");
        switch (nd.OpType)
        {
            case "Constant": return ConstantValue(node);
            case "Identity": return In(0);
            case "Cast": return Cast(In(0), (int)_g.Int(node, "to", 0), where);
            case "Sign": return Map(In(0), v => double.IsNaN(v) ? v : Math.Sign(v));
            case "Neg": return Map(In(0), v => -v);
            case "Abs": return Map(In(0), Math.Abs);
            case "Sqrt": return Map(In(0), Math.Sqrt);
            case "Reciprocal": return Map(In(0), v => 1 / v);
            case "Not": return Map(In(0), v => v == 0 ? 1 : 0, OnnxTensorReader.Bool);
            case "Add": return Broadcast(node, [In(0), In(1)], v => v[0] + v[1]);
            case "Sub": return Broadcast(node, [In(0), In(1)], v => v[0] - v[1]);
            case "Mul": return Broadcast(node, [In(0), In(1)], v => v[0] * v[1]);
            case "Div": return Broadcast(node, [In(0), In(1)], v => v[0] / v[1]);
            case "Greater": return Broadcast(node, [In(0), In(1)], v => v[0] > v[1] ? 1 : 0, OnnxTensorReader.Bool);
            case "GreaterOrEqual": return Broadcast(node, [In(0), In(1)], v => v[0] >= v[1] ? 1 : 0, OnnxTensorReader.Bool);
            case "Less": return Broadcast(node, [In(0), In(1)], v => v[0] < v[1] ? 1 : 0, OnnxTensorReader.Bool);
            case "LessOrEqual": return Broadcast(node, [In(0), In(1)], v => v[0] <= v[1] ? 1 : 0, OnnxTensorReader.Bool);
            case "Equal": return Broadcast(node, [In(0), In(1)], v => v[0] == v[1] ? 1 : 0, OnnxTensorReader.Bool);
            case "Where": return Broadcast(node, [In(0), In(1), In(2)], v => v[0] != 0 ? v[1] : v[2], In(1).ElemType);
            case "Transpose": return Transpose(node, In(0));
            case "Reshape": return Reshape(node, In(0), In(1));
            case "Unsqueeze": return Unsqueeze(node, In(0), inp.Count > 1 ? inp[1] : null);
            case "Squeeze": return Squeeze(node, In(0), inp.Count > 1 ? inp[1] : null);
            default: throw new InvalidOperationException(nd.OpType);
        }
    }

    ConstTensor ConstantValue(int node)
    {
        string where = _g.Describe(node);
        if (_g.Tensor(node, "value") is { } t) return OnnxTensorReader.Read(t, where);
        if (_g.HasAttribute(node, "value_float")) return ConstTensor.Scalar((float)_g.Float(node, "value_float", 0), OnnxTensorReader.Float);
        if (_g.HasAttribute(node, "value_int")) return ConstTensor.Scalar(_g.Int(node, "value_int", 0), OnnxTensorReader.Int64);
        if (_g.HasAttribute(node, "value_floats"))
        {
            var a = _g.Nodes[node].Attribute.First(x => x.Name == "value_floats").Floats;
            return new ConstTensor([a.Count], a.Select(v => (double)v).ToArray(), OnnxTensorReader.Float);
        }
        if (_g.Ints(node, "value_ints") is { } ints) return new ConstTensor([ints.Length], ints.Select(v => (double)v).ToArray(), OnnxTensorReader.Int64);
        throw new HepBnnException($"{where}: no supported value attribute (value, value_float(s), value_int(s))");
    }

    static double RoundTo(int elemType, double v) => elemType == OnnxTensorReader.Float ? (float)v : v;

    static ConstTensor Map(ConstTensor a, Func<double, double> f, int? elemType = null)
    {
        int type = elemType ?? a.ElemType;
        var r = new double[a.Data.Length];
        for (int i = 0; i < r.Length; i++) r[i] = RoundTo(type, f(a.Data[i]));
        return new ConstTensor(a.Dims, r, type);
    }

    static ConstTensor Cast(ConstTensor a, int to, string where)
    {
        Func<double, double> f = to switch
        {
            OnnxTensorReader.Float => v => (float)v,
            OnnxTensorReader.Double => v => v,
            OnnxTensorReader.Bool => v => v != 0 ? 1 : 0,
            OnnxTensorReader.Int8 or OnnxTensorReader.Int16 or OnnxTensorReader.Int32 or OnnxTensorReader.Int64 or OnnxTensorReader.Uint8
                or OnnxTensorReader.Uint16 or OnnxTensorReader.Uint32 or OnnxTensorReader.Uint64 =>
                v => double.IsFinite(v) ? Math.Truncate(v) : throw new HepBnnException($"{where}: cannot cast {v} to an integer"),
            _ => throw new HepBnnException($"{where}: cast to {OnnxTensorReader.TypeName(to)} is not supported"),
        };
        return Map(a, f, to);
    }

    ConstTensor Broadcast(int node, ConstTensor[] ins, Func<double[], double> f, int? elemType = null)
    {
        int rank = ins.Max(t => t.Rank);
        var dims = new long[rank];
        for (int a = 0; a < rank; a++)
        {
            long d = 1;
            foreach (var t in ins)
            {
                int ta = a - (rank - t.Rank);
                long td = ta < 0 ? 1 : t.Dims[ta];
                if (td == d || td == 1) continue;
                if (d != 1) throw new HepBnnException($"{_g.Describe(node)}: shapes {string.Join(" and ", ins.Select(x => x.ShapeText))} do not broadcast");
                d = td;
            }
            dims[a] = d;
        }
        long count = ConstTensor.CountOf(dims, long.MaxValue / 2);
        Reserve(count, node);
        int type = elemType ?? ins[0].ElemType;
        var result = new double[count];
        var strides = ins.Select(t => BroadcastStrides(t, rank)).ToArray();
        var idx = new long[rank];
        var args = new double[ins.Length];
        for (long i = 0; i < count; i++)
        {
            for (int k = 0; k < ins.Length; k++)
            {
                long off = 0;
                for (int a = 0; a < rank; a++) off += idx[a] * strides[k][a];
                args[k] = ins[k].Data[off];
            }
            result[i] = RoundTo(type, f(args));
            for (int a = rank - 1; a >= 0; a--) { if (++idx[a] < dims[a]) break; idx[a] = 0; }
        }
        return new ConstTensor(dims, result, type);
    }

    /// <summary>Strides of <paramref name="t"/> aligned to <paramref name="rank"/> axes, 0 along broadcast axes.</summary>
    static long[] BroadcastStrides(ConstTensor t, int rank)
    {
        var s = new long[rank];
        long stride = 1;
        for (int a = t.Rank - 1; a >= 0; a--)
        {
            s[a + rank - t.Rank] = t.Dims[a] == 1 ? 0 : stride;
            stride *= t.Dims[a];
        }
        return s;
    }

    ConstTensor Transpose(int node, ConstTensor a)
    {
        var perm = _g.Ints(node, "perm") ?? Enumerable.Range(0, a.Rank).Reverse().Select(i => (long)i).ToArray();
        if (perm.Length != a.Rank || perm.Distinct().Count() != a.Rank || perm.Any(p => p < 0 || p >= a.Rank))
            throw new HepBnnException($"{_g.Describe(node)}: perm [{string.Join(",", perm)}] invalid for rank {a.Rank}");
        var dims = perm.Select(p => a.Dims[p]).ToArray();
        var inStrides = new long[a.Rank];
        for (long s = 1, i = a.Rank - 1; i >= 0; i--) { inStrides[i] = s; s *= a.Dims[i]; }
        var r = new double[a.Count];
        var idx = new long[a.Rank];
        for (long i = 0; i < r.Length; i++)
        {
            long off = 0;
            for (int k = 0; k < a.Rank; k++) off += idx[k] * inStrides[perm[k]];
            r[i] = a.Data[off];
            for (int k = a.Rank - 1; k >= 0; k--) { if (++idx[k] < dims[k]) break; idx[k] = 0; }
        }
        return new ConstTensor(dims, r, a.ElemType);
    }

    ConstTensor Reshape(int node, ConstTensor a, ConstTensor shape)
    {
        var dims = ReshapeTarget(a.Dims, shape.AsInt64(_g.Describe(node)), _g.Int(node, "allowzero", 0) != 0, a.Count)
            ?? throw new HepBnnException($"{_g.Describe(node)}: cannot reshape {a.ShapeText} to [{string.Join(",", shape.Data)}]");
        return new ConstTensor(dims, a.Data, a.ElemType);
    }

    /// <summary>ONNX Reshape semantics (0 copies the input dim unless allowzero, one −1 is inferred); null when invalid.</summary>
    public static long[]? ReshapeTarget(IReadOnlyList<long> input, long[] target, bool allowZero, long count)
    {
        if (target.Length > 8) return null;
        var dims = new long[target.Length];
        int infer = -1;
        for (int i = 0; i < target.Length; i++)
        {
            long d = target[i];
            if (d == 0 && !allowZero) { if (i >= input.Count) return null; d = input[i]; }
            if (d == -1) { if (infer >= 0) return null; infer = i; d = 1; }
            if (d < 0) return null;
            dims[i] = d;
        }
        long known = ConstTensor.CountOf(dims, long.MaxValue / 2);
        if (known < 0) return null;
        if (infer >= 0)
        {
            if (known == 0 || count % known != 0) return null;
            dims[infer] = count / known;
        }
        else if (known != count) return null;
        return dims;
    }

    long[] Axes(int node, ConstTensor? axesInput, int rank)
    {
        var axes = axesInput?.AsInt64(_g.Describe(node)) ?? _g.Ints(node, "axes") ?? [];
        return axes.Select(a => a < 0 ? a + rank : a).ToArray();
    }

    ConstTensor Unsqueeze(int node, ConstTensor a, ConstTensor? axesInput)
    {
        int rank = a.Rank + (axesInput is null ? (_g.Ints(node, "axes")?.Length ?? 0) : (int)axesInput.Count);
        var axes = Axes(node, axesInput, rank);
        if (rank > 8 || axes.Length == 0 || axes.Distinct().Count() != axes.Length || axes.Any(x => x < 0 || x >= rank))
            throw new HepBnnException($"{_g.Describe(node)}: invalid axes");
        var dims = new long[rank];
        for (int i = 0, j = 0; i < rank; i++) dims[i] = axes.Contains(i) ? 1 : a.Dims[j++];
        return new ConstTensor(dims, a.Data, a.ElemType);
    }

    ConstTensor Squeeze(int node, ConstTensor a, ConstTensor? axesInput)
    {
        var axes = Axes(node, axesInput, a.Rank);
        if (axes.Length == 0) axes = Enumerable.Range(0, a.Rank).Where(i => a.Dims[i] == 1).Select(i => (long)i).ToArray();
        if (axes.Any(x => x < 0 || x >= a.Rank || a.Dims[x] != 1)) throw new HepBnnException($"{_g.Describe(node)}: invalid axes");
        return new ConstTensor(Enumerable.Range(0, a.Rank).Where(i => !axes.Contains(i)).Select(i => a.Dims[i]).ToArray(), a.Data, a.ElemType);
    }
}
