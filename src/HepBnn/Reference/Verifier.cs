using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Reference;

/// <summary>One configuration's verification result.</summary>
public sealed record ConfigVerification(string Configuration, DeviceKind Device, int BlocksChecked, int Mismatches, string? FirstMismatch);

public sealed record VerificationReport(string Gpu, int Models, int Cases, IReadOnlyList<ConfigVerification> Results)
{
    public bool Passed => Results.All(r => r.Mismatches == 0);
}

/// <summary>
/// Checks configurations bit for bit against the reference on every block of a set of models: each block's reference
/// output is computed once per (batch, seed) and compared with every configuration that supports the block. A
/// configuration that throws counts as a mismatch with the error as its message.
/// </summary>
public static class Verifier
{
    /// <summary>Random networks seed..seed+<paramref name="networks"/>−1 at batches 1 and 3, then (with <paramref name="zoo"/>)
    /// vgg3 at batch 2 and vgg7 at batch 1.</summary>
    public static IEnumerable<(BnnModel Model, int Batch)> DefaultModels(int networks, int seed = 1, bool zoo = true)
    {
        for (int i = 0; i < networks; i++)
        {
            var m = RandomNetworks.Generate(seed + i);
            yield return (m, 1);
            yield return (m, 3);
        }
        if (!zoo) yield break;
        yield return (ModelZoo.Vgg3(seed), 2);
        yield return (ModelZoo.Vgg7(seed), 1);
    }

    public static VerificationReport Run(ExecutionResources res, IReadOnlyList<IKernelConfiguration> configs,
        IEnumerable<(BnnModel Model, int Batch)> models, Action<string>? progress = null)
    {
        var checkedBlocks = configs.ToDictionary(c => c.Name, _ => 0);
        var mismatches = configs.ToDictionary(c => c.Name, _ => 0);
        var first = new Dictionary<string, string>();
        int modelCount = 0, cases = 0;
        var checkedModels = new List<(BnnModel, int)>();
        foreach (var (model, batch) in models)
        {
            modelCount++;
            checkedModels.Add((model, batch));
            foreach (var block in BlockCompiler.Compile(model))
            {
                progress?.Invoke($"{model.Name} {block.Name} batch {batch}");
                var c = new BlockCase(model, block, batch, seed: 1000 * block.Index + batch + model.Name.Length);
                cases++;
                foreach (var config in configs.Where(x => x.Supports(block)))
                {
                    string? problem;
                    try { problem = c.Check(config, res)?.ToString(); }
                    catch (Exception e) { problem = $"error: {e.GetType().Name}: {e.Message}"; }
                    checkedBlocks[config.Name]++;
                    if (problem is null) continue;
                    mismatches[config.Name]++;
                    first.TryAdd(config.Name, $"{model.Name} {block} batch {batch}: {problem}");
                }
            }
        }
        var results = configs.Select(c => new ConfigVerification(c.Name, c.Device, checkedBlocks[c.Name], mismatches[c.Name],
            first.GetValueOrDefault(c.Name))).ToList();
        if (configs.FirstOrDefault(Ops.Gpu.GpuFused.Is) is { } fused)
        {
            results.Add(FusedRanges(FusedRangesRow, res, fused, checkedModels, progress));
            // Each stage kind on its own too (the registry's instance picks one per range, GpuFusedMma.Pays): both must
            // stay exact, whichever a range runs.
            results.Add(FusedRanges(FusedMmaRangesRow, res, new Ops.Gpu.GpuFused(true), checkedModels, progress));
            results.Add(FusedRanges(FusedSimtRangesRow, res, new Ops.Gpu.GpuFused(false), checkedModels, progress));
        }
        return new VerificationReport(res.Gpu?.Description ?? res.GpuProblem ?? "no GPU", modelCount, cases, results);
    }

    /// <summary>Label of the verification row of fused multi-block ranges.</summary>
    public const string FusedRangesRow = "gpu.fused ranges";
    /// <summary>Labels of the rows of fused ranges with tensor-core stages and with SIMT stages only.</summary>
    public const string FusedSimtRangesRow = "gpu.fused ranges, SIMT stages", FusedMmaRangesRow = "gpu.fused ranges, tensor-core stages";

    /// <summary>Fused ranges of several blocks (one kernel, grid barriers between stages: what the per-block check of
    /// gpu.fused cannot reach): each model whole-network fused, and from its second block to the end after a CPU first
    /// block, whole sessions against the reference's scores.</summary>
    static ConfigVerification FusedRanges(string row, ExecutionResources res, IKernelConfiguration fused, IReadOnlyList<(BnnModel Model, int Batch)> models,
        Action<string>? progress)
    {
        var cpu = ConfigurationRegistry.Find("cpu.scalar");
        int checkedRanges = 0, mismatches = 0;
        string? first = null;
        foreach (var (model, batch) in models)
        {
            var blocks = BlockCompiler.Compile(model);
            var images = ModelZoo.RandomImages(model.InputShape, batch, 77 + batch);
            foreach (int start in blocks.Count > 1 ? new[] { 0, 1 } : [0])
            {
                progress?.Invoke($"{model.Name} gpu.fused blocks {start}..{blocks.Count - 1} batch {batch}");
                var assignment = blocks.Select((_, i) => i < start ? cpu : fused).ToArray();
                string? problem = null;
                try
                {
                    using var session = new Runtime.InferenceSession(model, blocks, assignment, new Runtime.SessionOptions { MaxBatch = batch }, res);
                    var raw = new int[batch * session.ScoresPerImage];
                    session.Run(images, batch, raw);
                    int size = (int)model.InputShape.Elements;
                    for (int n = 0; n < batch && problem is null; n++)
                    {
                        var expected = ReferenceEngine.RawScores(model, images.AsSpan(n * size, size));
                        for (int k = 0; k < expected.Length; k++)
                            if (expected[k] != raw[n * session.ScoresPerImage + k]) { problem = $"sample {n} class {k}: expected {expected[k]}, got {raw[n * session.ScoresPerImage + k]} ({session.GpuExecution})"; break; }
                    }
                }
                catch (Exception e) { problem = $"error: {e.GetType().Name}: {e.Message}"; }
                checkedRanges++;
                if (problem is null) continue;
                mismatches++;
                first ??= $"{model.Name} blocks {start}..{blocks.Count - 1} batch {batch}: {problem}";
            }
        }
        return new ConfigVerification(row, DeviceKind.Gpu, checkedRanges, mismatches, first);
    }
}
