using HepBnn.Devices;
using HepBnn.Formats;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Runtime;

namespace HepBnn.Sessions;

/// <summary>
/// The front door: <c>InferenceSession.Create(path | stream | model, options)</c> loads the model (.hbnn or .onnx),
/// maps it (<see cref="SessionOptions.Mapping"/>: a cached or fresh profile, a plan file or one configuration), falls
/// back to the CPU when the GPU is missing or fails, and returns a ready session. One <see cref="ExecutionResources"/>
/// is used for profiling and running (the GPU is opened once), and the model's blocks are compiled once.
/// </summary>
public static class SessionFactory
{
    extension(InferenceSession)
    {
        /// <summary>Loads a model file (by extension: .hbnn, .onnx) and builds a session for it.</summary>
        public static InferenceSession Create(string modelPath, SessionOptions? options = null) =>
            Build(ModelLoader.Load(modelPath), options ?? new SessionOptions());

        /// <summary>Reads a model from <paramref name="model"/> (.hbnn or ONNX, told apart by content) and builds a session.</summary>
        public static InferenceSession Create(Stream model, SessionOptions? options = null) =>
            Build(ModelLoader.Load(model), options ?? new SessionOptions());

        public static InferenceSession Create(BnnModel model, SessionOptions? options = null) =>
            Build(model, options ?? new SessionOptions());
    }

    static InferenceSession Build(BnnModel model, SessionOptions options)
    {
        if (options.MaxBatch < 1 || options.MaxBatch > 1 << 16) throw new HepBnnException($"MaxBatch {options.MaxBatch} out of range 1..65536");
        if (!(options.ProfileSeconds > 0) || options.ProfileSeconds > 3600)
            throw new HepBnnException($"ProfileSeconds {options.ProfileSeconds} out of range (0, 3600]");
        var compiled = CompiledModel.Of(model);
        var res = new ExecutionResources(options.CpuThreads, options.Gpu);
        try
        {
            var session = options.Mapping switch
            {
                SessionMapping.SingleConfiguration c => Single(compiled, c.Name, options, res),
                SessionMapping.PlanFileMapping p => FromPlanFile(compiled, p.File, options, res),
                _ => Auto(compiled, options, res),
            };
            session.Adopt(res);
            return session;
        }
        catch
        {
            res.Dispose();
            throw;
        }
    }

    static InferenceSession Single(CompiledModel model, string name, SessionOptions options, ExecutionResources res)
    {
        var config = ConfigurationRegistry.Find(name);
        var assignment = Enumerable.Repeat(config, model.Blocks.Count).ToArray();
        try
        {
            return Report(new InferenceSession(model, assignment, options, res), new($"configuration {config.Name}", null, null, null, []));
        }
        catch (GpuUnavailableException e) when (options.CpuFallback && config.Device == DeviceKind.Gpu)
        {
            return Fallback(model, options, res, e.Message, []);
        }
    }

    static InferenceSession FromPlanFile(CompiledModel model, string file, SessionOptions options, ExecutionResources res)
    {
        var plan = PlanFile.Load(file, model);
        var run = new SessionOptions { MaxBatch = Math.Max(options.MaxBatch, plan.Batch), CpuThreads = options.CpuThreads, Gpu = options.Gpu, HostIo = options.HostIo };
        string? missing = CpuFallback.UsesGpu(plan.Blocks) && !res.TryOpen(DeviceKind.Gpu) ? res.GpuProblem ?? "no GPU" : null;
        try
        {
            if (missing is not null) throw new GpuUnavailableException(missing);
            return Report(new InferenceSession(model, plan, run, res), new($"plan file '{file}'", plan, null, null, []));
        }
        catch (GpuUnavailableException e) when (options.CpuFallback)
        {
            return Fallback(model, options, res, e.Message, []);
        }
    }

    static InferenceSession Auto(CompiledModel model, SessionOptions options, ExecutionResources res)
    {
        var notes = new List<string>();
        bool gpu = options.Gpu != GpuSelection.None && res.TryOpen(DeviceKind.Gpu);
        if (!gpu && options.Gpu != GpuSelection.None) notes.Add($"no GPU ({res.GpuProblem ?? "none found"}): mapped onto the CPU");
        var (plan, source, file) = MapCached(model, options, res, gpu ? null : CpuFallback.CpuOnly, notes);
        try
        {
            return Report(new InferenceSession(model, plan, Options(options), res), new(source, plan, file, null, notes));
        }
        catch (GpuUnavailableException e) when (options.CpuFallback && gpu)
        {
            return Fallback(model, options, res, e.Message, notes);
        }
    }

    /// <summary>The best CPU plan (cached like any other), with the reason the GPU was given up.</summary>
    static InferenceSession Fallback(CompiledModel model, SessionOptions options, ExecutionResources res, string reason, List<string> notes)
    {
        var (plan, source, file) = MapCached(model, options, res, CpuFallback.CpuOnly, notes);
        return Report(new InferenceSession(model, plan, Options(options), res), new(source, plan, file, reason, notes));
    }

    static (Plan Plan, string Source, string? File) MapCached(CompiledModel model, SessionOptions options, ExecutionResources res,
        Func<IKernelConfiguration, bool>? include, List<string> notes)
    {
        var cache = new PlanCache(options.PlanCacheDirectory ?? PlanCache.DefaultDirectory());
        string devices = include is null ? "all" : "cpu";
        if (!options.Remap)
        {
            if (cache.TryLoad(model, options.MaxBatch, devices, out string? note) is { } cached)
                return (cached, "plan cache", cache.PathFor(model, options.MaxBatch, devices, cached.Platform));
            if (note is not null) notes.Add(note);
        }
        var profile = Profiler.Run(model, options.MaxBatch, res, Budget(options.ProfileSeconds, include));
        var plan = Planner.Map(profile)[0];
        string? file = cache.Store(model, options.MaxBatch, devices, plan, out string? stored);
        if (stored is not null) notes.Add(stored);
        return (plan, options.Remap ? "profiled (remap asked)" : "profiled", file);
    }

    /// <summary>Splits the profiling time as the defaults do (6 : 1 : 3 for kernels, transfers, calibration).</summary>
    static ProfileOptions Budget(double seconds, Func<IKernelConfiguration, bool>? include)
    {
        var o = new ProfileOptions
        {
            KernelBudgetSeconds = 0.6 * seconds, TransferBudgetSeconds = 0.1 * seconds, CalibrationBudgetSeconds = 0.3 * seconds,
            MinMeasurementMs = Math.Min(2, seconds * 10), MaxMeasurementMs = Math.Clamp(seconds * 15, 1, 150),
        };
        return include is null ? o : o with { Include = include };
    }

    static SessionOptions Options(SessionOptions o) => new() { MaxBatch = o.MaxBatch, CpuThreads = o.CpuThreads, Gpu = o.Gpu, HostIo = o.HostIo };

    static InferenceSession Report(InferenceSession session, MappingReport report)
    {
        session.MappingReport = report;
        return session;
    }
}
