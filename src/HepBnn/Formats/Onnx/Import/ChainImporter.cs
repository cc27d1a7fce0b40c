using HepBnn.Model;
using Onnx;

namespace HepBnn.Formats.Onnx.Import;

/// <summary>
/// Walks an ONNX graph from its image input to its output along the single chain of activations, turning what it meets
/// into HepBnn layers. Stages: the image (normalization ops, then the first Conv), a layer's integer sums (bias, BatchNorm,
/// max pool, arithmetic: collected in a <see cref="SumsPipeline"/> until a binarization or the output), and ±1 activations
/// (max pool, Flatten/Reshape, the next Conv/Gemm/MatMul). Constant inputs are evaluated by the <see cref="ConstantFolder"/>.
/// Anything else stops the import with the node, its op type and the reason.
/// <para>This file is the graph walker; the op translators are in ChainImporter.Ops.cs, the normalisation patterns
/// (image stage, a layer's sums) in ChainImporter.Normalisation.cs.</para>
/// </summary>
internal sealed partial class ChainImporter
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

    // image stage: the model sees (x_raw − _offset[c]) / _divisors[c]
    readonly double[] _offset;
    readonly double[] _divisors;
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
        _divisors = Enumerable.Repeat(1.0, InputShape.C).ToArray();
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