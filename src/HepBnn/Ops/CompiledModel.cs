using HepBnn.Model;

namespace HepBnn.Ops;

/// <summary>A model with its blocks compiled once (<see cref="BlockCompiler"/>) and its content hash computed once;
/// carried from loading through validation, profiling and the session so that nothing compiles twice.</summary>
public sealed class CompiledModel
{
    readonly Lazy<string> _hash;

    public BnnModel Model { get; }
    public IReadOnlyList<Block> Blocks { get; }
    /// <summary><see cref="ModelHash.Compute"/> of the model.</summary>
    public string Hash => _hash.Value;

    CompiledModel(BnnModel model, IReadOnlyList<Block> blocks)
    {
        Model = model;
        Blocks = blocks;
        _hash = new(() => ModelHash.Compute(model));
    }

    public static CompiledModel Of(BnnModel model) => new(model, BlockCompiler.Compile(model));

    /// <summary>Scores per image of the last block: classes × output pixels (= the model's class count for a classifier
    /// ending in a dense layer or a 1×1 map).</summary>
    public int ScoresPerImage => Blocks[^1].OutputShape.C * Blocks[^1].OutputShape.Pixels;
}
