using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>Index of one ONNX graph: who produces and who consumes each value, the initializers, attribute access with
/// type checks. The constructor rejects what would make a walk over the graph ill-defined: duplicate producers,
/// values nothing produces, cycles (Kahn's algorithm; never recursion, so deep graphs cannot overflow the stack).</summary>
internal sealed class OnnxGraph
{
    public const int MaxNodes = 100_000;

    public GraphProto Proto { get; }
    public IReadOnlyList<NodeProto> Nodes => Proto.Node;
    public Dictionary<string, TensorProto> Initializers { get; } = new(StringComparer.Ordinal);
    /// <summary>Value name → index of the node that produces it.</summary>
    public Dictionary<string, int> Producer { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, List<int>> Consumers { get; } = new(StringComparer.Ordinal);
    public HashSet<string> GraphInputs { get; } = new(StringComparer.Ordinal);
    public HashSet<string> GraphOutputs { get; } = new(StringComparer.Ordinal);

    public OnnxGraph(GraphProto g)
    {
        Proto = g;
        if (g.Node.Count > MaxNodes) throw new HepBnnException($"graph has {g.Node.Count} nodes, more than the {MaxNodes} supported");
        if (g.SparseInitializer.Count > 0) throw new HepBnnException("sparse initializers are not supported");
        foreach (var t in g.Initializer)
            if (!Initializers.TryAdd(t.Name, t)) throw new HepBnnException($"initializer '{t.Name}' is defined twice");
        foreach (var i in g.Input) GraphInputs.Add(i.Name);
        foreach (var o in g.Output) GraphOutputs.Add(o.Name);
        for (int n = 0; n < g.Node.Count; n++)
        {
            var node = g.Node[n];
            if (node.Domain is not ("" or "ai.onnx"))
                throw new HepBnnException($"{Describe(n)}: operators of domain '{node.Domain}' are not supported");
            foreach (var o in node.Output)
            {
                if (o.Length == 0) continue;
                if (Initializers.ContainsKey(o) || GraphInputs.Contains(o) || !Producer.TryAdd(o, n))
                    throw new HepBnnException($"{Describe(n)}: output '{o}' is already defined elsewhere in the graph");
            }
        }
        for (int n = 0; n < g.Node.Count; n++)
            foreach (var i in g.Node[n].Input)
            {
                if (i.Length == 0) continue; // an omitted optional input
                if (!Producer.ContainsKey(i) && !Initializers.ContainsKey(i) && !GraphInputs.Contains(i))
                    throw new HepBnnException($"{Describe(n)}: input '{i}' is not produced by any node, initializer or graph input");
                if (!Consumers.TryGetValue(i, out var list)) Consumers[i] = list = [];
                if (list.Count == 0 || list[^1] != n) list.Add(n);
            }
        CheckAcyclic();
    }

    void CheckAcyclic()
    {
        int n = Nodes.Count;
        var pending = new int[n];
        for (int i = 0; i < n; i++)
            foreach (var inp in Nodes[i].Input)
                if (inp.Length > 0 && Producer.ContainsKey(inp)) pending[i]++;
        var ready = new Queue<int>();
        for (int i = 0; i < n; i++) if (pending[i] == 0) ready.Enqueue(i);
        int done = 0;
        while (ready.Count > 0)
        {
            int i = ready.Dequeue();
            done++;
            foreach (var o in Nodes[i].Output)
                if (o.Length > 0 && Consumers.TryGetValue(o, out var users))
                    foreach (int u in users)
                        foreach (var inp in Nodes[u].Input)
                            if (inp == o && --pending[u] == 0) ready.Enqueue(u);
        }
        if (done < n)
        {
            int stuck = Enumerable.Range(0, n).First(i => pending[i] > 0);
            throw new HepBnnException($"graph has a cycle (through {Describe(stuck)})");
        }
    }

    public string Describe(int node)
    {
        var nd = Nodes[node];
        return nd.Name.Length > 0 ? $"{Clip(nd.OpType)} '{Clip(nd.Name)}'" : $"{Clip(nd.OpType)} (node #{node})";
    }

    /// <summary>Names from a hostile file can be huge; messages keep them short.</summary>
    public static string Clip(string s) => s.Length <= 80 ? s : s[..77] + "...";

    public NodeProto? ProducerOf(string value) => Producer.TryGetValue(value, out int i) ? Nodes[i] : null;

    public IReadOnlyList<int> ConsumersOf(string value) => Consumers.TryGetValue(value, out var l) ? l : [];

    AttributeProto? Attr(int node, string name, AttributeProto.Types.AttributeType type)
    {
        AttributeProto? found = null;
        foreach (var a in Nodes[node].Attribute)
            if (a.Name == name)
            {
                if (found is not null) throw new HepBnnException($"{Describe(node)}: attribute '{name}' given twice");
                found = a;
            }
        if (found is not null && found.Type != type && found.Type != AttributeProto.Types.AttributeType.Undefined)
            throw new HepBnnException($"{Describe(node)}: attribute '{name}' must be {type}, found {found.Type}");
        return found;
    }

    public long Int(int node, string name, long fallback) => Attr(node, name, AttributeProto.Types.AttributeType.Int)?.I ?? fallback;
    public double Float(int node, string name, double fallback) => Attr(node, name, AttributeProto.Types.AttributeType.Float) is { } a ? a.F : fallback;
    public string String(int node, string name, string fallback) =>
        Attr(node, name, AttributeProto.Types.AttributeType.String) is { } a ? Clip(a.S.ToStringUtf8()) : fallback;

    public long[]? Ints(int node, string name)
    {
        var a = Attr(node, name, AttributeProto.Types.AttributeType.Ints);
        if (a is null) return null;
        if (a.Ints.Count > 16) throw new HepBnnException($"{Describe(node)}: attribute '{name}' has {a.Ints.Count} values");
        return a.Ints.ToArray();
    }

    public TensorProto? Tensor(int node, string name) => Attr(node, name, AttributeProto.Types.AttributeType.Tensor)?.T;

    public bool HasAttribute(int node, string name) => Nodes[node].Attribute.Any(a => a.Name == name);
}
