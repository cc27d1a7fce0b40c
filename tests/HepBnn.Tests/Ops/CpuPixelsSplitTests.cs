using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
using HepBnn.Tests.Support;
namespace HepBnn.Tests.Ops;

/// <summary><c>cpu.mt-pixels-split</c> (one item per cell × 64-channel word, cell-major; on AVX-512 a worker keeps the
/// cell it gathered last for its next word of the same run): bit-exact against the reference on random shapes — 2–4
/// output words, even pooling (the pair path with its gather cache), odd pooling, none with odd and even widths, strides
/// — block by block, and as whole sessions with one fork-join per block and inside one CPU region on 3 and 8 threads (8
/// oversubscribe this machine, so slices get stolen), with different images run after run, so that a patch kept from
/// an earlier run or another sample would show.</summary>
public class CpuPixelsSplitTests
{
    const string Name = "cpu.mt-pixels-split";

    static BnnModel RandomModel(int seed) => MultiWordModels.Random(seed, "pixels-split");

    [Fact]
    public void SupportsBinaryBlocksOfSeveralWordsWithBitsOut()
    {
        var blocks = BlockCompiler.Compile(ModelZoo.Vgg7(1));
        var config = ConfigurationRegistry.Find(Name);
        foreach (var b in blocks)
            Assert.Equal(b.Input != BlockInput.Image && b.Output == BlockOutput.Bits && b.OutputShape.ChannelWords > 1 && HepBnn.Ops.Cpu.CpuBlockData.Fits(b),
                config.Supports(b));
        Assert.Equal(["conv2", "conv3", "conv4", "conv5", "conv6", "fc1"], blocks.Where(config.Supports).Select(b => b.Name));
    }

    [Fact]
    public void ItemsCoverEveryOutputWordOnce()
    {
        for (int seed = 1; seed <= 12; seed++)
        {
            var model = RandomModel(seed);
            foreach (var b in BlockCompiler.Compile(model).Where(ConfigurationRegistry.Find(Name).Supports))
            {
                var seen = new HashSet<(int, int, int, int)>();
                int units = HepBnn.Ops.Cpu.CpuPartitions.UnitsPerSample(HepBnn.Ops.Cpu.CpuPartition.PixelsSplit, b);
                for (int u = 0; u < 2 * units; u++)
                {
                    var (n, r0, r1, x0, x1, c0, c1) = HepBnn.Ops.Cpu.CpuPartitions.Item(HepBnn.Ops.Cpu.CpuPartition.PixelsSplit, b, u);
                    Assert.True(r1 == r0 + 1 && c1 == c0 + 1 && x1 > x0 && x1 <= b.OutputShape.W && x1 - x0 <= (b.HasPool ? 1 : HepBnn.Ops.Cpu.CpuPartitions.CellPixels),
                        $"seed {seed}, {b.Name}, unit {u}: rows {r0}..{r1}, columns {x0}..{x1}, words {c0}..{c1}");
                    for (int x = x0; x < x1; x++) Assert.True(seen.Add((n, r0, x, c0)), $"seed {seed}, {b.Name}: output ({n}, {r0}, {x}, word {c0}) twice");
                }
                Assert.Equal(2 * b.OutputShape.Pixels * b.OutputShape.ChannelWords, seen.Count);
            }
        }
    }

    [Theory]
    [InlineData(1)] [InlineData(2)] [InlineData(3)] [InlineData(4)] [InlineData(5)] [InlineData(6)]
    public void BlocksAndSessionsMatchReference(int seed)
    {
        var model = RandomModel(seed);
        var config = ConfigurationRegistry.Find(Name);
        CpuSupport.SkipUnlessRunsHere(config);
        var blocks = BlockCompiler.Compile(model);
        using (var res = new ExecutionResources(3))
            foreach (var b in blocks)
                if (config.Supports(b)) BlockOracle.Check(model, b, config, res, batch: seed % 2 + 1, seed + b.Index);
        var plan = blocks.Select(b => config.Supports(b) ? Name : "cpu.mt-pixels").ToArray();
        foreach (var (batch, threads, regions) in new[] { (1, 3, true), (3, 8, true), (2, 3, false) })
        {
            using var session = new InferenceSession(model, plan, new SessionOptions { MaxBatch = batch, CpuThreads = threads, CpuRegions = regions });
            Assert.Equal(regions ? 1 : 0, session.CpuSegments);
            var raw = new int[batch * session.ScoresPerImage];
            for (int repeat = 0; repeat < 4; repeat++)
            {
                var images = ModelZoo.RandomImages(model.InputShape, batch, seed * 10 + repeat % 3); // images change run by run
                session.Run(images, batch, raw);
                ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage,
                    $"seed {seed}, {model.Name}, batch {batch}, {threads} threads, regions {regions}, run {repeat}");
            }
        }
    }

    /// <summary>A block of one cell (2×2 conv output pooled to 1×1, 3 words): every item of every run is the same cell, so
    /// only the run token tells a kept patch from the new input's. One thread (items in order) and 3; both run modes.</summary>
    [Theory]
    [InlineData(1, true)] [InlineData(1, false)] [InlineData(3, true)] [InlineData(3, false)]
    public void KeptCellIsNeverReusedInAnotherRun(int threads, bool regions)
    {
        var model = new ModelBuilder(new Shape3(2, 2, 3), 5).InputConv(64).BnSign().Conv(150).Pool().BnSign().Conv(140).BnSign()
            .Flatten().Dense(10).Build("one-cell");
        var config = ConfigurationRegistry.Find(Name);
        CpuSupport.SkipUnlessRunsHere(config);
        var blocks = BlockCompiler.Compile(model);
        Assert.True(config.Supports(blocks[1]) && blocks[1].OutputShape.Pixels == 1, "block 1 should be one pooled cell of several words");
        var plan = blocks.Select(b => config.Supports(b) ? Name : "cpu.mt-pixels").ToArray();
        using var session = new InferenceSession(model, plan, new SessionOptions { MaxBatch = 2, CpuThreads = threads, CpuRegions = regions });
        var raw = new int[2 * session.ScoresPerImage];
        for (int run = 0; run < 6; run++)
        {
            int batch = run % 2 + 1;
            var images = ModelZoo.RandomImages(model.InputShape, batch, 100 + run);
            session.Run(images, batch, raw);
            ReferenceScores.AssertMatch(model, images, batch, raw, session.ScoresPerImage, $"one-cell model, {threads} threads, regions {regions}, run {run}");
        }
    }

    /// <summary>Patches longer than the scratch holds a cell's pairs for (1,900 input channels: 270-word patches, 3 pairs
    /// per chunk, against 4 in an 8-pixel cell): the cell falls back to the chunked path, which must not leave a kept cell
    /// behind; 9-pixel rows end in a lone pixel. Block by block and in a region, images changing run by run.</summary>
    [Fact]
    public void CellsLongerThanTheScratchMatchReference()
    {
        var model = new ModelBuilder(new Shape3(2, 9, 1), 9).InputConv(1900).BnSign().Conv(130).BnSign().Conv(140).BnSign()
            .Flatten().Dense(10).Build("long-patches");
        var config = ConfigurationRegistry.Find(Name);
        CpuSupport.SkipUnlessRunsHere(config);
        var blocks = BlockCompiler.Compile(model);
        using (var res = new ExecutionResources(3))
            foreach (var b in blocks)
                if (config.Supports(b)) BlockOracle.Check(model, b, config, res, batch: 2, 30 + b.Index);
        var plan = blocks.Select(b => config.Supports(b) ? Name : "cpu.mt-pixels").ToArray();
        using var session = new InferenceSession(model, plan, new SessionOptions { MaxBatch = 2, CpuThreads = 3, CpuRegions = true });
        var raw = new int[2 * session.ScoresPerImage];
        for (int run = 0; run < 3; run++)
        {
            var images = ModelZoo.RandomImages(model.InputShape, 2, 40 + run);
            session.Run(images, 2, raw);
            ReferenceScores.AssertMatch(model, images, 2, raw, session.ScoresPerImage, $"long-patches model, run {run}");
        }
    }
}
