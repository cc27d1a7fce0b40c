using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Reference;
namespace HepBnn.Tests.Support;

/// <summary>Runs one block with a configuration on random inputs and compares against the reference
/// (<see cref="BlockCase"/>, shared with `hepbnn verify`); fails naming seed, block and configuration.</summary>
public static class BlockOracle
{
    /// <summary>Asserts the configuration reproduces the reference bit for bit; the message names seed, block and config.</summary>
    public static void Check(BnnModel model, Block b, IKernelConfiguration config, ExecutionResources res, int batch, int seed) =>
        Check(new BlockCase(model, b, batch, seed), config, res);

    public static void Check(BlockCase c, IKernelConfiguration config, ExecutionResources res)
    {
        if (c.Check(config, res) is { } m)
            Assert.Fail($"seed {c.Seed}, model {c.Model.Name}, block {c.Block}, config {config.Name}, batch {c.Batch}: {m}");
    }
}
