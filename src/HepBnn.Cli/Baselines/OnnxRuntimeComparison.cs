using HepBnn.Model;
using HepBnn.Planning;
using HepBnn.Runtime;
using Spectre.Console;

namespace HepBnn.Cli.Baselines;

/// <summary>`bench --onnxruntime`: end-to-end latency of HepBnn's found plan against ONNX Runtime CPU on the float32
/// export, same images and batch, one table.</summary>
public static class OnnxRuntimeComparison
{
    public sealed record Row(int Batch, double HepBnnUs, string HepBnnConfigurations, double OnnxRuntimeUs)
    {
        public double Speedup => OnnxRuntimeUs / HepBnnUs;
    }

    public static IReadOnlyList<Row> Measure(BnnModel model, IEnumerable<(int Batch, string[] Plan)> benches, int seed, double budgetMs)
    {
        int threads = Environment.ProcessorCount;
        using var ort = new OnnxRuntimeBaseline(model, threads);
        var rows = new List<Row>();
        foreach (var (batch, best) in benches)
        {
            var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
            using var session = new InferenceSession(model, best, new SessionOptions { MaxBatch = batch, CpuThreads = threads });
            var scores = new int[batch * session.ScoresPerImage];
            var hep = TimingStats.Measure(() => session.Run(images, batch, scores), budgetMs: budgetMs);
            var onnx = ort.Measure(images, batch, budgetMs);
            rows.Add(new Row(batch, hep.MedianUs, string.Join(" ", best.Distinct()), onnx.MedianUs));
        }
        return rows;
    }

    public static void Print(string model, IReadOnlyList<Row> rows)
    {
        var t = new Table().Title($"{Markup.Escape(model)}: end-to-end median µs per batch, HepBnn (found plan) vs ONNX Runtime CPU (float32 export), {Environment.ProcessorCount} threads")
            .AddColumn(new TableColumn("batch").RightAligned()).AddColumn(new TableColumn("HepBnn µs").RightAligned()).AddColumn("HepBnn configurations")
            .AddColumn(new TableColumn("ONNX Runtime µs").RightAligned()).AddColumn(new TableColumn("ORT / HepBnn").RightAligned());
        foreach (var r in rows)
            t.AddRow(r.Batch.ToString(), $"{r.HepBnnUs:F1}", Markup.Escape(r.HepBnnConfigurations), $"{r.OnnxRuntimeUs:F1}", $"{r.Speedup:F2}x");
        AnsiConsole.Write(t);
    }
}
