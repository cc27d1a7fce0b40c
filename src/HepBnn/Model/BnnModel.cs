namespace HepBnn.Model;

/// <summary>A BNN: per-sample input shape (8-bit image, NHWC), ordered layers and their weights.</summary>
public sealed class BnnModel
{
    public string Name { get; }
    public Shape3 InputShape { get; }
    public IReadOnlyList<Layer> Layers { get; }
    /// <summary>Optional human-readable name of each class (index = class), e.g. "T-shirt/top". Not part of
    /// <see cref="ModelHash"/>: names do not change what the model computes.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Longest class name a model may carry.</summary>
    public const int MaxClassNameLength = 128;

    public BnnModel(string name, Shape3 inputShape, IReadOnlyList<Layer> layers, IReadOnlyList<string>? classNames = null)
    {
        Name = name;
        InputShape = inputShape;
        Layers = layers;
        ModelValidator.Validate(this);
        if (classNames is not null)
        {
            int k = NumClasses;
            if (classNames.Count != k) throw new HepBnnException($"model '{name}' has {k} classes but {classNames.Count} class names were given");
            for (int i = 0; i < k; i++)
                if (string.IsNullOrWhiteSpace(classNames[i]) || classNames[i].Length > MaxClassNameLength || classNames[i].Any(char.IsControl))
                    throw new HepBnnException($"class name {i} of model '{name}' must be 1..{MaxClassNameLength} printable characters");
            ClassNames = classNames.ToArray();
        }
    }

    /// <summary>The same model with class names attached (or removed with null).</summary>
    public BnnModel WithClassNames(IReadOnlyList<string>? classNames) => new(Name, InputShape, Layers, classNames);

    /// <summary>The class's name from the model, or "class N" when the model has none.</summary>
    public string ClassName(int index) => ClassNames is { } n && index >= 0 && index < n.Count ? n[index] : $"class {index}";

    /// <summary>Shapes after each layer (index i = output of layer i).</summary>
    public IReadOnlyList<Shape3> LayerOutputShapes() => ModelValidator.OutputShapes(InputShape, Layers);

    public int NumClasses => LayerOutputShapes()[^1].C;
}
