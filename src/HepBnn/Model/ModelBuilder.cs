namespace HepBnn.Model;

/// <summary>Builds models layer by layer with seeded random ±1 weights and plausible BatchNorm statistics
/// (so thresholds land inside the reachable range and activations stay balanced). Deterministic for a seed.</summary>
public sealed class ModelBuilder
{
    readonly Random _rng;
    readonly Shape3 _input;
    readonly List<Layer> _layers = [];
    Shape3 _shape;
    /// <summary>Rough std of the last linear layer's output, used to scale BN statistics.</summary>
    double _spread = 1;
    /// <summary>Fraction of BN channels with negative γ (exercises the AND pooling and ≤ thresholds).</summary>
    public double NegativeGammaFraction { get; set; } = 0.2;

    public ModelBuilder(Shape3 input, int seed)
    {
        _input = input;
        _shape = input;
        _rng = new Random(seed);
    }

    /// <param name="perChannel">with <paramref name="normalize"/>: a different divisor per input channel (torchvision-style std).</param>
    public ModelBuilder InputConv(int k, int kernel = 3, int stride = 1, int padding = 1, bool normalize = false, bool perChannel = false)
    {
        InputNormalization? norm = null;
        if (normalize)
        {
            var off = new double[_shape.C];
            for (int c = 0; c < off.Length; c++) off[c] = 100 + 60 * _rng.NextDouble();
            norm = new InputNormalization(off, 50 + 30 * _rng.NextDouble());
            if (perChannel)
            {
                var d = new double[_shape.C];
                for (int c = 0; c < d.Length; c++) d[c] = 50 + 30 * _rng.NextDouble();
                norm = InputNormalization.Create(off, d);
            }
        }
        var layer = new InputConv2d(k, kernel, kernel, stride, padding, RandomSigns(k * kernel * kernel * _shape.C), norm);
        _spread = Math.Sqrt(kernel * kernel * _shape.C) * (normalize ? 1.5 : 150);
        return Add(layer);
    }

    public ModelBuilder Conv(int k, int kernel = 3, int stride = 1, int padding = 1)
    {
        _spread = Math.Sqrt(kernel * kernel * _shape.C);
        return Add(new BinaryConv2d(k, kernel, kernel, stride, padding, RandomSigns(k * kernel * kernel * _shape.C)));
    }

    public ModelBuilder Dense(int k)
    {
        _spread = Math.Sqrt(_shape.Elements);
        return Add(new BinaryDense(k, RandomSigns(checked((int)(k * _shape.Elements)))));
    }

    public ModelBuilder Pool(int size = 2, int stride = 2) => Add(new MaxPool2d(size, stride));
    public ModelBuilder Flatten() => Add(new Flatten());
    public ModelBuilder BnSign() => Add(new BatchNormSign(RandomBatchNorm(_shape.C, allowNegative: true)));
    public ModelBuilder ScoreBn() => Add(new ScoreBatchNorm(RandomBatchNorm(_shape.C, allowNegative: false)));

    public BnnModel Build(string name) => new(name, _input, _layers.ToArray());

    ModelBuilder Add(Layer layer)
    {
        _layers.Add(layer);
        _shape = ModelValidator.OutputShapes(_shape, [layer])[0];
        return this;
    }

    sbyte[] RandomSigns(int n)
    {
        var w = new sbyte[n];
        for (int i = 0; i < n; i++) w[i] = _rng.Next(2) == 0 ? (sbyte)-1 : (sbyte)1;
        return w;
    }

    BatchNormParams RandomBatchNorm(int c, bool allowNegative)
    {
        double[] g = new double[c], b = new double[c], m = new double[c], v = new double[c];
        for (int i = 0; i < c; i++)
        {
            g[i] = (0.5 + _rng.NextDouble()) * (allowNegative && _rng.NextDouble() < NegativeGammaFraction ? -1 : 1);
            b[i] = _rng.NextDouble() - 0.5;
            m[i] = (_rng.NextDouble() - 0.5) * _spread;
            v[i] = _spread * _spread * (0.5 + _rng.NextDouble());
        }
        return new BatchNormParams(g, b, m, v, 1e-5);
    }
}
