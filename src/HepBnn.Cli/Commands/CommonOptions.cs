using System.CommandLine;
using HepBnn.Devices;
using HepBnn.Formats;
using HepBnn.Model;

namespace HepBnn.Cli.Commands;

/// <summary>Options shared by several commands, and how a --model value becomes a model.</summary>
public static class CommonOptions
{
    public static Option<string> Model(bool required = true) => new("--model", "-m")
    {
        Description = "a .hbnn file, an .onnx file, or a built-in architecture (vgg3, vgg7) with random weights",
        Required = required,
        DefaultValueFactory = required ? null! : _ => "vgg3",
    };

    public static Option<int> Seed() => OptionRules.Range(new Option<int>("--seed") { Description = "seed of a built-in model's random weights and of generated inputs", DefaultValueFactory = _ => 1 }, 0, int.MaxValue);
    public static Option<int> Batch(int defaultValue = 1) => OptionRules.Range(new Option<int>("--batch", "-b") { Description = "images per inference", DefaultValueFactory = _ => defaultValue }, 1, OptionRules.MaxBatch);
    public static Option<string> JsonOut() => OptionRules.OutputFile(new Option<string>("--json-out") { Description = "also write the JSON document to this file" });
    public static Option<bool> Json() => new("--json") { Description = "machine-readable JSON output" };

    public static Option<string> Gpu() => new("--gpu")
    {
        Description = "what plays the GPU: auto (a CUDA GPU if usable), cuda, cpu-accelerator (ILGPU's emulation) or none",
        DefaultValueFactory = _ => "auto",
    };

    public static GpuSelection GpuSelection(string value) => GpuSelections.Parse(value);

    public static BnnModel LoadModel(string spec, int seed) =>
        ModelZoo.TryGet(spec, seed) ?? ModelLoader.Load(spec);
}
