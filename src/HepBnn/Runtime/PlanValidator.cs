using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Runtime;

/// <summary>Checks a plan against a model and a machine before anything runs; the first problem becomes one exception.</summary>
public static class PlanValidator
{
    /// <summary>This machine's fingerprint (detected once per process): <see cref="PlatformInfo.CurrentFingerprint"/>.</summary>
    public static string CurrentPlatform => PlatformInfo.CurrentFingerprint;

    /// <summary>Throws <see cref="HepBnnException"/> for a malformed plan and <see cref="PlanMismatchException"/> for one that does not
    /// fit; returns the configuration of each block.</summary>
    public static IReadOnlyList<IKernelConfiguration> Validate(Plan plan, BnnModel model, string? platform = null, string source = "plan") =>
        Validate(plan, CompiledModel.Of(model), platform, source);

    public static IReadOnlyList<IKernelConfiguration> Validate(Plan plan, CompiledModel compiled, string? platform = null, string source = "plan")
    {
        CheckWellFormed(plan, source);
        var model = compiled.Model;
        string hash = compiled.Hash;
        if (!plan.ModelHash.Equals(hash, StringComparison.OrdinalIgnoreCase))
            throw new PlanMismatchException($"{source} was made for another model (model hash {Short(plan.ModelHash)}, '{plan.Model}'), " +
                                            $"not for '{model.Name}' (hash {Short(hash)}); map this model again");
        var blocks = compiled.Blocks;
        if (plan.Blocks.Count != blocks.Count)
            throw new PlanMismatchException($"{source} has {plan.Blocks.Count} blocks but model '{model.Name}' has {blocks.Count}");
        platform ??= CurrentPlatform;
        if (plan.Platform != platform)
            throw new PlanMismatchException($"{source} was made on another machine ({plan.Platform}); this one is {platform}; " +
                                            "map again here (or run with --remap)");
        var configs = new IKernelConfiguration[blocks.Count];
        for (int i = 0; i < blocks.Count; i++)
        {
            var pb = plan.Blocks[i];
            var config = ConfigurationRegistry.All.FirstOrDefault(c => c.Name.Equals(pb.Configuration, StringComparison.OrdinalIgnoreCase))
                ?? throw new PlanMismatchException($"{source}, block {i} ({pb.Name}): unknown configuration '{pb.Configuration}' " +
                                                   $"(known here: {string.Join(", ", ConfigurationRegistry.All.Select(c => c.Name))})");
            if (config.Device != pb.Device)
                throw new PlanMismatchException($"{source}, block {i} ({pb.Name}): configuration {config.Name} runs on the {config.Device}, the plan says {pb.Device}");
            if (pb.Name != blocks[i].Name)
                throw new PlanMismatchException($"{source}, block {i}: named '{pb.Name}' but the model's block {i} is '{blocks[i].Name}'");
            if (ConfigurationAvailability.Reason(config) is { } why)
                throw new PlanMismatchException($"{source}, block {i} ({pb.Name}): configuration {config.Name} cannot run here: {why}");
            if (!config.Supports(blocks[i]))
                throw new PlanMismatchException($"{source}, block {i} ({pb.Name}): configuration {config.Name} does not support this block on this machine");
            configs[i] = config;
        }
        return configs;
    }

    /// <summary>Structure alone: format, batch, block indices, finite non-negative times.</summary>
    public static void CheckWellFormed(Plan plan, string source = "plan")
    {
        if (plan.Format != Plan.FormatId) throw new HepBnnException($"{source}: format '{plan.Format}' is not '{Plan.FormatId}'");
        if (plan.Batch < 1 || plan.Batch > 1 << 16) throw new HepBnnException($"{source}: batch {plan.Batch} out of range 1..65536");
        if (plan.Blocks.Count == 0) throw new HepBnnException($"{source} has no blocks");
        for (int i = 0; i < plan.Blocks.Count; i++)
        {
            var b = plan.Blocks[i];
            if (b.Index != i) throw new HepBnnException($"{source}: block {i} has index {b.Index} (blocks must be listed in order)");
            if (!Time(b.ComputeUs) || !Time(b.TransferInUs) || !Time(b.PredictedUs))
                throw new HepBnnException($"{source}, block {i} ({b.Name}): predicted times must be finite and non-negative");
        }
        if (!Time(plan.OutputTransferUs) || !Time(plan.OverheadUs) || !Time(plan.PredictedTotalUs) || !Time(plan.HostIoSavingUs))
            throw new HepBnnException($"{source}: predicted totals must be finite and non-negative");
        if (plan.HostIo is { } io && !Enum.IsDefined(io)) throw new HepBnnException($"{source}: hostIo {(int)io} is not a host I/O mode");
    }

    static bool Time(double us) => double.IsFinite(us) && us >= 0;
    static string Short(string hash) => hash.Length > 12 ? hash[..12] : hash;
}
