namespace HepBnn.Model;

/// <summary>A BNN: per-sample input shape (8-bit image, NHWC), ordered layers and their weights.</summary>
public sealed class BnnModel
{
    public string Name { get; }
    public Shape3 InputShape { get; }
    public IReadOnlyList<Layer> Layers { get; }
    /// <summary>Names of the output classes in score order (from training), or null when the model has none;
    /// metadata only: not part of <see cref="ModelHash"/>.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    public const int MaxClassNameLength = 64;

    public BnnModel(string name, Shape3 inputShape, IReadOnlyList<Layer> layers, IReadOnlyList<string>? classNames = null)
    {
        Name = name;
        InputShape = inputShape;
        Layers = layers;
        ModelValidator.Validate(this);
        if (classNames is not null)
        {
            if (classNames.Count != NumClasses)
                throw new HepBnnException($"model '{name}' has {NumClasses} classes but {classNames.Count} class names");
            for (int i = 0; i < classNames.Count; i++)
                if (string.IsNullOrWhiteSpace(classNames[i]) || classNames[i].Length > MaxClassNameLength)
                    throw new HepBnnException($"model '{name}': class name {i} must be 1..{MaxClassNameLength} characters");
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
