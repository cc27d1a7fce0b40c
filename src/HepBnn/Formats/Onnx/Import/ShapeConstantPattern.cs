using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>
/// PyTorch's <c>torch.where(x &gt;= 0, torch.ones_like(x), -torch.ones_like(x))</c> exports as
/// <c>Where(GreaterOrEqual(x, 0), ConstantOfShape(Shape(x)), Neg(ConstantOfShape(Shape(x))))</c>: x feeds the comparison
/// and a Shape node, which the chain walk would see as a branch. When every use of such a ConstantOfShape (through Neg,
/// Cast, Identity) is a value branch of a Where whose condition compares x with a single constant, the Where's output
/// has x's shape whatever the branches' shapes, so the ConstantOfShape is replaced by a Constant holding its one value
/// (a scalar broadcasts to the same result) and the Shape node disappears. Anything else is left for the walk to report.
/// </summary>
internal static class ShapeConstantPattern
{
    public static void Rewrite(GraphProto g)
    {
        var producer = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            foreach (var o in n.Output) if (o.Length > 0) producer.TryAdd(o, n);
            foreach (var i in n.Input)
                if (i.Length > 0)
                {
                    if (!consumers.TryGetValue(i, out var l)) consumers[i] = l = [];
                    if (l.Count == 0 || !ReferenceEquals(l[^1], n)) l.Add(n);
                }
        }
        var initializers = new HashSet<string>(g.Initializer.Select(t => t.Name), StringComparer.Ordinal);
        var drop = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var rewritten = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < g.Node.Count; i++)
        {
            var c = g.Node[i];
            if (c.OpType != "ConstantOfShape" || c.Input.Count != 1 || c.Output.Count != 1) continue;
            if (!producer.TryGetValue(c.Input[0], out var shape) || shape.OpType != "Shape" || shape.Input.Count != 1 || shape.Attribute.Count > 0) continue;
            string x = shape.Input[0];
            if (!OnlyWhereBranchesOn(c.Output[0], x, consumers, producer, initializers, 0)) continue;
            var value = c.Attribute.FirstOrDefault(a => a.Name == "value")?.T;
            if (value is null) continue; // the default (float 0) can never be a ±1 branch: leave it to be refused
            var constant = new NodeProto { OpType = "Constant", Name = c.Name, Domain = c.Domain };
            constant.Output.Add(c.Output[0]);
            constant.Attribute.Add(new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = value.Clone() });
            g.Node[i] = constant;
            rewritten.Add(c);
            if (consumers.TryGetValue(c.Input[0], out var shapeUsers) && shapeUsers.All(rewritten.Contains))
                drop.Add(shape);
        }
        if (drop.Count == 0) return;
        var kept = g.Node.Where(n => !drop.Contains(n)).ToList();
        g.Node.Clear();
        g.Node.AddRange(kept);
    }

    static bool OnlyWhereBranchesOn(string value, string x, Dictionary<string, List<NodeProto>> consumers,
        Dictionary<string, NodeProto> producer, HashSet<string> initializers, int depth)
    {
        if (depth > 8 || !consumers.TryGetValue(value, out var users) || users.Count == 0) return false;
        foreach (var u in users)
        {
            switch (u.OpType)
            {
                case "Neg" or "Cast" or "Identity" when u.Output.Count == 1:
                    if (!OnlyWhereBranchesOn(u.Output[0], x, consumers, producer, initializers, depth + 1)) return false;
                    break;
                case "Where" when u.Input.Count == 3 && u.Input[0] != value:
                    if (!ComparesWithConstant(u.Input[0], x, producer, initializers)) return false;
                    break;
                default:
                    return false;
            }
        }
        return true;
    }

    /// <summary>cond = Compare(x, k) or Compare(k, x), optionally through Not, with k one constant value.</summary>
    static bool ComparesWithConstant(string cond, string x, Dictionary<string, NodeProto> producer, HashSet<string> initializers)
    {
        if (!producer.TryGetValue(cond, out var p)) return false;
        if (p.OpType == "Not" && p.Input.Count == 1 && !producer.TryGetValue(p.Input[0], out p)) return false;
        if (p.OpType is not ("GreaterOrEqual" or "Greater" or "LessOrEqual" or "Less") || p.Input.Count != 2) return false;
        string other = p.Input[0] == x ? p.Input[1] : p.Input[1] == x ? p.Input[0] : "";
        if (other.Length == 0) return false;
        if (initializers.Contains(other)) return true; // its size is checked by the walk (a per-channel threshold at most)
        return producer.TryGetValue(other, out var k) && k.OpType == "Constant"
               && k.Attribute.FirstOrDefault(a => a.Name == "value")?.T is { } t && t.Dims.Aggregate(1L, (a, d) => a * d) == 1;
    }
}
