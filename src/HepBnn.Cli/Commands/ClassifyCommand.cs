using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Evaluation;
using HepBnn.Formats.Images;
using HepBnn.Model;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn classify`: decode photos (PNG/JPEG), convert them to the model's input, print the top classes.</summary>
public static class ClassifyCommand
{
    public static Command Create()
    {
        var model = new Option<string?>("--model", "-m") { Description = $"a .hbnn or .onnx file, or vgg3/vgg7 (random weights); default: the shipped models/{ShippedModels.Vgg3FashionMnist}" };
        var seed = CommonOptions.Seed();
        var json = CommonOptions.Json();
        var top = new Option<int>("--top") { Description = "how many classes to print per image", DefaultValueFactory = _ => 3 };
        var invert = new Option<InvertMode>("--invert") { Description = "grey models: invert the photo (auto: when its border is light, as a product photo on white)", DefaultValueFactory = _ => InvertMode.Auto };
        // cpu.mt-rows runs the widest kernel this CPU has (AVX-512, AVX2 or scalar), so the default works on any x64 CPU.
        var config = new Option<string>("--config") { Description = "configuration for every block", DefaultValueFactory = _ => "cpu.mt-rows" };
        var images = new Argument<string[]>("images") { Description = "PNG or JPEG files", Arity = ArgumentArity.OneOrMore };
        var cmd = new Command("classify", "classify PNG/JPEG images with a model: top classes with softmax scores") { model, seed, top, invert, config, json, images };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var m = CommonOptions.LoadModel(r.GetValue(model) ?? DefaultModel(), r.GetValue(seed));
            var results = Classify(m, r.GetValue(images)!, r.GetValue(invert), Math.Clamp(r.GetValue(top), 1, 1000), r.GetValue(config)!);
            if (r.GetValue(json)) JsonOut.Write(new { Model = m.Name, Input = m.InputShape.ToString(), Images = results });
            else Print(m, results);
            return 0;
        }));
        return cmd;
    }

    static string DefaultModel() => ShippedModels.Find(ShippedModels.Vgg3FashionMnist)
        ?? throw new HepBnnException($"no --model given and the shipped models/{ShippedModels.Vgg3FashionMnist} was not found " +
                                     $"(searched: {string.Join(", ", ShippedModels.Candidates().DefaultIfEmpty("no models/ folder"))})");

    public sealed record ImageResult(string Path, string Conversion, bool Inverted, ClassScore[] Top);

    /// <summary>Decodes and converts every image first (so a bad file fails before anything runs), then runs them as one batch.</summary>
    public static ImageResult[] Classify(BnnModel m, IReadOnlyList<string> paths, InvertMode invert, int top, string config)
    {
        var converted = paths.Select(p => ModelInputConverter.Convert(ImageDecoder.Load(p), m.InputShape, invert)).ToArray();
        using var session = new InferenceSession(m, config, new SessionOptions { MaxBatch = converted.Length });
        var input = converted.SelectMany(c => c.Input).ToArray();
        int k = session.ScoresPerImage;
        var scores = new double[converted.Length * k];
        session.Run(input, converted.Length, scores);
        return converted.Select((c, i) => new ImageResult(paths[i], c.Description, c.Inverted,
            ClassScores.Top(scores.AsSpan(i * k, k), top, m.ClassName))).ToArray();
    }

    static void Print(BnnModel m, ImageResult[] results)
    {
        AnsiConsole.MarkupLine($"model [bold]{Markup.Escape(m.Name)}[/] ({m.InputShape} input, {m.NumClasses} classes" +
                               (m.ClassNames is null ? ", no class names in the file" : "") + ")");
        foreach (var r in results)
        {
            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(r.Path)}[/]: {Markup.Escape(r.Conversion)}");
            var t = new Table().AddColumn("rank").AddColumn("class").AddColumn(new TableColumn("score").RightAligned()).AddColumn(new TableColumn("softmax").RightAligned());
            for (int i = 0; i < r.Top.Length; i++)
                t.AddRow($"{i + 1}", Markup.Escape($"{r.Top[i].Name} ({r.Top[i].Class})"), $"{r.Top[i].Score:F2}", $"{100 * r.Top[i].Probability:F1}%");
            AnsiConsole.Write(t);
        }
    }
}
