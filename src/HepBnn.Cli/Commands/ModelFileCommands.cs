using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Formats.Native;
using HepBnn.Formats.Onnx;
using HepBnn.Model;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn save`, `hepbnn import`, `hepbnn export`: materialize, convert and publish models.</summary>
public static class ModelFileCommands
{
    public sealed record Written(string Model, string ModelHash, string Path, string Format, long Bytes, string[] Layers);

    /// <summary>`hepbnn save --model vgg3 --out m.hbnn`: writes any model (built-in, .hbnn or .onnx) as a native model file.</summary>
    public static Command Save()
    {
        var model = CommonOptions.Model();
        var seed = CommonOptions.Seed();
        var outPath = Out("the .hbnn file to write");
        var json = CommonOptions.Json();
        var names = ClassNamesOption();
        var cmd = new Command("save", "write a model (e.g. a built-in architecture) as a native .hbnn file") { model, seed, outPath, names, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            string path = NativeOut(r.GetValue(outPath)!, "save");
            var m = WithNames(CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed)), r.GetValue(names));
            Report(WriteNative(m, path), r.GetValue(json));
            return 0;
        }));
        return cmd;
    }

    static Option<string?> ClassNamesOption() => new("--class-names", "--classes")
    {
        Description = "class names stored in the file: comma-separated, @FILE (one per line), or fashion-mnist / cifar10",
    };

    /// <summary>The model with the --class-names attached (unchanged when not given).</summary>
    internal static BnnModel WithNames(BnnModel m, string? spec) => spec switch
    {
        null => m,
        "fashion-mnist" => m.WithClassNames(Formats.Datasets.DatasetDirectory.FashionMnistClassNames),
        "cifar10" or "cifar-10" => m.WithClassNames(Formats.Datasets.DatasetDirectory.Cifar10ClassNames),
        _ => m.WithClassNames(ParseClassNames(spec)),
    };

    /// <summary>`hepbnn import model.onnx --out model.hbnn`.</summary>
    public static Command Import()
    {
        var input = new Argument<string>("onnx") { Description = "the ONNX file to import (.onnx or .onnx.gz)" };
        var outPath = Out("the .hbnn file to write");
        var json = CommonOptions.Json();
        var names = ClassNamesOption();
        var cmd = new Command("import", "import an ONNX model (e.g. a PyTorch export) into a native .hbnn file") { input, outPath, names, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            string path = NativeOut(r.GetValue(outPath)!, "import");
            var m = WithNames(OnnxImporter.ImportFile(r.GetValue(input)!), r.GetValue(names));
            Report(WriteNative(m, path), r.GetValue(json));
            return 0;
        }));
        return cmd;
    }

    /// <summary>`hepbnn export model.hbnn --out model.onnx` (also built-in names).</summary>
    public static Command Export()
    {
        var input = new Argument<string>("model") { Description = "a .hbnn file, an .onnx file or a built-in architecture (vgg3, vgg7)" };
        var seed = CommonOptions.Seed();
        var outPath = Out("the file to write: .onnx (ONNX) or .hbnn (native)");
        var float32 = new Option<bool>("--float32") { Description = "plain float32 graph (BatchNormalization nodes), as fast as possible in float runtimes; not an exact round trip" };
        var raw = new Option<bool>("--raw-scores") { Description = "add an output 'raw_scores' with the last layer's integer sums (before its BatchNorm)" };
        var json = CommonOptions.Json();
        var cmd = new Command("export", "export a model as standard ONNX (runs in ONNX Runtime; imports back exactly)") { input, seed, outPath, float32, raw, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            string path = r.GetValue(outPath)!;
            var format = FormatOf(path);
            var m = CommonOptions.LoadModel(r.GetValue(input)!, r.GetValue(seed));
            if (format == ModelFile.Extension) { Report(WriteNative(m, path), r.GetValue(json)); return 0; }
            var options = new OnnxExportOptions { Precision = r.GetValue(float32) ? OnnxPrecision.Float32 : OnnxPrecision.Exact, RawScoresOutput = r.GetValue(raw) };
            OnnxExporter.ExportFile(m, path, options);
            Report(new Written(m.Name, ModelHash.Compute(m), path, $"ONNX opset {OnnxExporter.Opset} ({options.Precision})", new FileInfo(path).Length, Kinds(m)), r.GetValue(json));
            return 0;
        }));
        return cmd;
    }

    /// <summary>The one rule of every command that writes a model: the output's extension names its format
    /// (.hbnn native, .onnx ONNX); a command never writes one format under the other's extension.</summary>
    public static string FormatOf(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ModelFile.Extension or OnnxExtension ? ext
            : throw new HepBnnException($"--out '{path}': the extension names the format; use {ModelFile.Extension} (native) or {OnnxExtension} (ONNX)");
    }

    const string OnnxExtension = ".onnx";

    /// <summary>save and import write native files only: an .onnx name is refused with the command that writes ONNX.</summary>
    static string NativeOut(string path, string command) => FormatOf(path) == ModelFile.Extension ? path
        : throw new HepBnnException($"{command} writes native {ModelFile.Extension} files, but --out '{path}' names an ONNX file; " +
                                    $"use `hepbnn export MODEL --out {path}` for ONNX");

    static Option<string> Out(string description) => OptionRules.OutputFile(new Option<string>("--out", "-o") { Description = description, Required = true });

    /// <summary>"a,b,c" or "@file" (one name per line, blank lines ignored).</summary>
    static string[] ParseClassNames(string spec)
    {
        if (!spec.StartsWith('@')) return spec.Split(',').Select(s => s.Trim()).ToArray();
        try { return File.ReadAllLines(spec[1..]).Select(s => s.Trim()).Where(s => s.Length > 0).ToArray(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new HepBnnException($"class names file '{spec[1..]}': {e.Message}", e); }
    }


    static string[] Kinds(BnnModel m) => m.Layers.Select(l => l.Kind).ToArray();

    static Written WriteNative(BnnModel m, string path)
    {
        ModelFile.Save(m, path);
        return new Written(m.Name, ModelHash.Compute(m), path, $"hbnn v1", new FileInfo(path).Length, Kinds(m));
    }

    static void Report(Written w, bool json)
    {
        if (json) { JsonOut.Write(w); return; }
        AnsiConsole.MarkupLine($"wrote [bold]{Markup.Escape(w.Path)}[/] ({Markup.Escape(w.Format)}, {w.Bytes:N0} bytes): model {Markup.Escape(w.Model)}, " +
                               $"{w.Layers.Length} layers, hash {w.ModelHash[..16]}…");
        AnsiConsole.MarkupLine($"[grey]{Markup.Escape(string.Join(" → ", w.Layers))}[/]");
    }
}
