using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Gpu;

/// <summary>Whole networks through <see cref="InferenceSession"/> with blocks on the CPU and on the (emulated) GPU, so
/// that every kind of transfer happens between them, against the reference's raw integer scores.</summary>
[Collection(GpuCollection.Name)]
public class GpuSessionTests(CpuAcceleratorFixture fixture)
{
    void AssertMatchesReference(BnnModel model, IReadOnlyList<string> assignment, int batch, int seed)
    {
        var images = ModelZoo.RandomImages(model.InputShape, batch, seed);
        var blocks = BlockCompiler.Compile(model);
        using var session = new InferenceSession(model, blocks, assignment.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = batch }, fixture.Resources);
        var raw = new int[batch * session.ScoresPerImage];
        for (int repeat = 0; repeat < 2; repeat++) // the second run reuses every buffer and registration
        {
            Array.Fill(raw, int.MinValue);
            session.Run(images, batch, raw);
            ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage, $"seed {seed}, model {model.Name}, [{string.Join(", ", assignment)}]");
        }
    }

    // VGG3's layer pattern at 8×8 (Support/TinyModels): the full 28×28 VGG3 took ~20 s per run on the emulator;
    // full-size whole models on a real GPU are `hepbnn verify` / scripts/plan-check.sh.
    /// <summary>The GPU configurations that support <paramref name="block"/>, taken in turn (not every one takes every block).</summary>
    internal static string Rotate(Block block, int turn)
    {
        var fit = ConfigurationRegistry.Gpu.Where(c => c.Supports(block)).ToArray();
        return fit[turn % fit.Length].Name;
    }

    [Fact]
    public void TinyVgg3WithTheMiddleOnTheGpuMatchesReference() =>
        AssertMatchesReference(TinyModels.Vgg3Like(3), ["cpu.mt-rows", "gpu.tiled-shared", "gpu.thread-per-pixel", "cpu.scalar"], batch: 2, seed: 5);

    [Fact]
    public void TinyVgg3StartingOnTheGpuMatchesReference() =>
        AssertMatchesReference(TinyModels.Vgg3Like(4), ["gpu.thread-per-pixel", "cpu.mt-channels", "gpu.warp-reduce", "gpu.thread-per-output"], batch: 1, seed: 6);

    [Fact]
    public void RandomNetworksWithAlternatingDevicesMatchReference()
    {
        for (int seed = 200; seed < 208; seed++)
        {
            var model = RandomNetworks.Generate(seed);
            var blocks = BlockCompiler.Compile(model);
            // GPU/CPU alternate, starting on either, and the GPU configuration rotates; blocks too big for the emulator stay on the CPU.
            // (Among the GPU configurations that support the block: not every one takes the image block.)
            var assignment = blocks.Select((b, i) => (i + seed) % 2 == 0 && GpuConfigurationTests.Cost(b, 2) <= 12_000
                ? Rotate(b, i + seed) : "cpu.mt-batch").ToArray();
            AssertMatchesReference(model, assignment, batch: 2, seed);
        }
    }

    [Fact]
    public void AllOnTheGpuMatchesReference()
    {
        int done = 0;
        for (int seed = 300; done < 6; seed++)
        {
            var model = RandomNetworks.Generate(seed);
            var blocks = BlockCompiler.Compile(model);
            if (blocks.Any(b => GpuConfigurationTests.Cost(b, 3) > 12_000)) continue;
            // gpu.tensor-core has its own tests (GpuTensorCoreTests); on the emulator it costs minutes per whole model.
            var all = ConfigurationRegistry.Gpu.Where(c => c.Name != "gpu.tensor-core" && blocks.All(c.Supports)).ToArray();
            AssertMatchesReference(model, Enumerable.Repeat(all[seed % all.Length].Name, blocks.Count).ToArray(), batch: 3, seed);
            done++;
        }
    }
}
