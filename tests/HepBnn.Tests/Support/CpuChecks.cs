using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
namespace HepBnn.Tests.Support;

/// <summary>Checks a model in every CPU configuration: each block in isolation (<see cref="BlockOracle"/>) and the
/// whole network through an <see cref="InferenceSession"/>, bit-exact against the reference.</summary>
public static class CpuChecks
{
    public static void AllConfigurations(BnnModel model, int batch, int seed)
    {
        using var res = new ExecutionResources(3);
        var blocks = BlockCompiler.Compile(model);
        foreach (var config in ConfigurationRegistry.Cpu)
        {
            foreach (var block in blocks)
                if (config.Supports(block)) BlockOracle.Check(model, block, config, res, batch, seed + block.Index);
            if (blocks.All(config.Supports)) Session(model, config.Name, batch, seed);
        }
    }

    /// <summary>Whole model in one configuration vs the reference's raw scores.</summary>
    public static void Session(BnnModel model, string config, int batch, int seed, byte[]? images = null)
    {
        images ??= ModelZoo.RandomImages(model.InputShape, batch, seed);
        using var session = new InferenceSession(model, config, new SessionOptions { MaxBatch = batch, CpuThreads = 3 });
        var raw = new int[batch * session.ScoresPerImage];
        session.Run(images, batch, raw);
        ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage, $"seed {seed}, model {model.Name}, config {config}");
    }

    /// <summary>The model with the BatchNorm parameters of every BatchNormSign replaced by <paramref name="change"/>(layer, params).</summary>
    public static BnnModel WithBatchNorm(BnnModel model, Func<int, BatchNormParams, BatchNormParams> change) =>
        new(model.Name, model.InputShape, model.Layers.Select((l, i) => l is BatchNormSign b ? new BatchNormSign(change(i, b.Params)) : l).ToArray());
}
