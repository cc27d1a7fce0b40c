namespace HepBnn.Model;

/// <summary>A BNN: per-sample input shape (8-bit image, NHWC), ordered layers and their weights.</summary>
public sealed class BnnModel
{
    public string Name { get; }
    public Shape3 InputShape { get; }
    public IReadOnlyList<Layer> Layers { get; }

    public BnnModel(string name, Shape3 inputShape, IReadOnlyList<Layer> layers)
    {
        Name = name;
        InputShape = inputShape;
        Layers = layers;
        ModelValidator.Validate(this);
    }

    /// <summary>Shapes after each layer (index i = output of layer i).</summary>
    public IReadOnlyList<Shape3> LayerOutputShapes() => ModelValidator.OutputShapes(InputShape, Layers);

    public int NumClasses => LayerOutputShapes()[^1].C;
}
