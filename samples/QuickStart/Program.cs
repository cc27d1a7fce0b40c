using HepBnn.Formats.Onnx;
using HepBnn.Formats;
using HepBnn.Model;
using HepBnn.Runtime;
using HepBnn.Sessions;
namespace QuickStart;

/// <summary>
/// Loads an ONNX (or .hbnn) model, maps it onto this machine (profiled once, then cached) and classifies 8 images.
/// Usage: <c>dotnet run --project samples/QuickStart [model.onnx]</c>; without a model it first writes a VGG3 with
/// random weights to vgg3.onnx in the temp folder, and 8 random 28×28 images stand in for yours.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string modelPath = args.Length > 0 ? args[0] : WriteDemoModel();
        float[] images = DemoImages(modelPath, out int[] shape); // float NCHW in raw 0..255 pixel units, as the exported ONNX takes

        // ---- the README's three lines ----
        using var session = InferenceSession.Create(modelPath, new SessionOptions { MaxBatch = 8, ProfileSeconds = 2 });
        int[] classes = session.Predict(images, shape);
        Console.WriteLine($"classes: {string.Join(" ", classes)}  (mapping: {session.MappingReport})");
        // ----------------------------------

        return classes.Length == shape[0] ? 0 : 1;
    }

    static string WriteDemoModel()
    {
        string path = Path.Combine(Path.GetTempPath(), "hepbnn-quickstart-vgg3.onnx");
        File.WriteAllBytes(path, OnnxExporter.Export(ModelZoo.Vgg3(seed: 1)));
        return path;
    }

    static float[] DemoImages(string modelPath, out int[] shape)
    {
        var s = HepBnn.Formats.ModelLoader.Load(modelPath).InputShape; // only to know the input size of a model given on the command line
        shape = [8, s.C, s.H, s.W];
        return ImageLayout.NhwcToNchw(ModelZoo.RandomImages(s, 8, seed: 1), s, 8);
    }
}
