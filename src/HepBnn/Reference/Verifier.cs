using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Reference;

/// <summary>One configuration's verification result.</summary>
public sealed record ConfigVerification(string Configuration, DeviceKind Device, int BlocksChecked, int Mismatches, string? FirstMismatch)
{
    /// <summary>How the checked work ran, where that matters (e.g. the programmatic edges of the segment sessions).</summary>
    public string? Note { get; init; }
}

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
        IEnumerable<(BnnModel Model, int Batch)> models, Action<string>? progress = null, int segmentRepeats = SegmentRepeats)
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
        var perBlockGpu = configs.Where(c => c.Device == DeviceKind.Gpu && !Ops.Gpu.GpuFused.Is(c)).ToList();
        if (perBlockGpu.Count > 0)
            results.Add(Segments(res, perBlockGpu, configs.FirstOrDefault(Ops.Gpu.GpuFused.Is), checkedModels, progress, segmentRepeats));
        return new VerificationReport(res.Gpu?.Description ?? res.GpuProblem ?? "no GPU", modelCount, cases, results);
    }

    /// <summary>Label of the verification row of whole sessions with multi-kernel GPU segments.</summary>
    public const string SegmentsRow = "GPU segments (whole sessions)";

    /// <summary>Runs of repeated whole-session runs per plan in <see cref="Segments"/>: a kernel that read its input before
    /// the kernel writing it had finished (a wrong programmatic edge) would show as a mismatch in some of them.</summary>
    public const int SegmentRepeats = 8;

    /// <summary>Whole sessions whose GPU blocks form segments of several kernels, as sessions run them (one CUDA graph per
    /// segment where graphs are on, programmatic kernel→kernel edges where dependent launch is on): per model, every
    /// block on the GPU with the configurations rotated (one segment of many kernels), every third block on the CPU
    /// (several segments, entered and left anywhere), and the first block per-block before a fused range (a kernel
    /// followed by the fused kernel). Each session runs <paramref name="repeats"/> times against the reference.</summary>
    static ConfigVerification Segments(ExecutionResources res, IReadOnlyList<IKernelConfiguration> gpu, IKernelConfiguration? fused,
        IReadOnlyList<(BnnModel Model, int Batch)> models, Action<string>? progress, int repeats)
    {
        var cpu = ConfigurationRegistry.Find("cpu.scalar");
        int checkedPlans = 0, mismatches = 0, edges = 0, mapped = 0;
        string? first = null, execution = null;
        // Plans now run with mapped host I/O where the planner measured it faster: every plan also runs mapped (input and
        // output, or output only, alternating), where the GPU can map host memory.
        bool canMap = res.Gpu is { } device && Devices.GpuHostIoSwitch.Unsupported(device) is null;
        foreach (var (model, batch) in models)
        {
            var blocks = BlockCompiler.Compile(model);
            IKernelConfiguration Gpu(int block, int offset) =>
                Enumerable.Range(0, gpu.Count).Select(k => gpu[(block + offset + k) % gpu.Count]).FirstOrDefault(c => c.Supports(blocks[block])) ?? cpu;
            var plans = new List<IKernelConfiguration[]>
            {
                blocks.Select((_, i) => Gpu(i, 0)).ToArray(),
                blocks.Select((_, i) => Gpu(i, 3)).ToArray(),
                blocks.Select((_, i) => i % 3 == 2 ? cpu : Gpu(i, 1)).ToArray(),
            };
            if (fused is not null && blocks.Count > 2) plans.Add(blocks.Select((_, i) => i == 0 ? Gpu(0, 2) : fused).ToArray());
            var images = ModelZoo.RandomImages(model.InputShape, batch, 91 + batch);
            int size = (int)model.InputShape.Elements;
            var expected = Enumerable.Range(0, batch).Select(n => ReferenceEngine.RawScores(model, images.AsSpan(n * size, size))).ToArray();
            var runs = plans.SelectMany((a, p) => canMap
                ? new[] { (a, Devices.GpuHostIo.Copies), (a, p % 2 == 0 ? Devices.GpuHostIo.Mapped : Devices.GpuHostIo.MappedOutput) }
                : [(a, Devices.GpuHostIo.Copies)]);
            foreach (var (assignment, hostIo) in runs)
            {
                string names = string.Join(", ", assignment.Select(c => c.Name)) + (hostIo == Devices.GpuHostIo.Copies ? "" : $"; {hostIo}");
                progress?.Invoke($"{model.Name} session [{names}] batch {batch}");
                string? problem = null;
                try
                {
                    using var session = new Runtime.InferenceSession(model, blocks, assignment,
                        new Runtime.SessionOptions { MaxBatch = batch, HostIo = hostIo }, res);
                    var raw = new int[batch * session.ScoresPerImage];
                    for (int run = 0; run < repeats && problem is null; run++)
                    {
                        Array.Fill(raw, int.MinValue);
                        session.Run(images, batch, raw);
                        for (int n = 0; n < batch && problem is null; n++)
                            for (int k = 0; k < expected[n].Length; k++)
                                if (expected[n][k] != raw[n * session.ScoresPerImage + k])
                                {
                                    problem = $"run {run} sample {n} class {k}: expected {expected[n][k]}, got {raw[n * session.ScoresPerImage + k]} ({session.GpuExecution})";
                                    break;
                                }
                    }
                    edges += session.ProgrammaticEdges;
                    if (hostIo != Devices.GpuHostIo.Copies && session.GpuExecution.Contains("mapped host", StringComparison.Ordinal)) mapped++;
                    if (session.ProgrammaticEdges == 0) execution ??= session.GpuExecution;
                }
                catch (Exception e) { problem = $"error: {e.GetType().Name}: {e.Message}"; }
                checkedPlans++;
                if (problem is null) continue;
                mismatches++;
                first ??= $"{model.Name} [{names}] batch {batch}: {problem}";
            }
        }
        return new ConfigVerification(SegmentsRow, DeviceKind.Gpu, checkedPlans, mismatches, first)
        {
            Note = $"{edges} programmatic kernel→kernel edges in all; {mapped} sessions with mapped host I/O" + (execution is null ? "" : $"; a session without: {execution}"),
        };
    }

    /// <summary>Label of the verification row of fused multi-block ranges.</summary>
    public const string FusedRangesRow = "gpu.fused ranges";
    /// <summary>Labels of the rows of fused ranges with tensor-core stages and with SIMT stages only.</summary>
    public const string FusedSimtRangesRow = "gpu.fused ranges, SIMT stages", FusedMmaRangesRow = "gpu.fused ranges, tensor-core stages";

    /// <summary>Fused ranges of several blocks (one kernel, grid barriers between stages: what the per-block check of
    /// gpu.fused cannot reach): each model whole-network fused, from its second block to the end after a CPU first
    /// block, and its last two blocks after CPU blocks, whole sessions against the reference's scores.</summary>
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
            // The last two blocks too: a dense pair there runs as one tensor-core kernel (GpuTensorCoreDensePair).
            foreach (int start in blocks.Count > 1 ? new[] { 0, 1, blocks.Count - 2 }.Distinct() : [0])
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
