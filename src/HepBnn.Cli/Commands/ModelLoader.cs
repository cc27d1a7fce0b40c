using HepBnn.Model;

namespace HepBnn.Cli.Commands;

/// <summary>Loads a model file by its extension.</summary>
public static class ModelLoader
{
    public static BnnModel Load(string path)
    {
        if (!File.Exists(path)) throw new HepBnnException($"model '{path}' is neither a built-in architecture ({string.Join(", ", ModelZoo.Names)}) nor an existing file");
        throw new HepBnnException($"model file '{path}': format not supported yet");
    }
}
