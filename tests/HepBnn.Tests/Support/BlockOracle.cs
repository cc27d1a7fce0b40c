using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Reference;
using HepBnn.Runtime;

namespace HepBnn.Tests.Support;

/// <summary>Runs one block with a configuration on random inputs and compares against the reference, layer by layer.</summary>
public static class BlockOracle
{
    /// <summary>Random per-sample input for block <paramref name="b"/>: image bytes or ±1 values.</summary>
    public static RefTensor[] RandomInputs(Block b, int batch, Random r)
    {
        var inputs = new RefTensor[batch];
        for (int n = 0; n < batch; n++)
        {
            var v = new double[b.InputShape.Elements];
            for (int i = 0; i < v.Length; i++) v[i] = b.Input == BlockInput.Image ? r.Next(256) : (r.Next(2) * 2 - 1);
            inputs[n] = new RefTensor(b.InputShape, v);
        }
        return inputs;
    }

    public static HostBuffer Pack(Block b, RefTensor[] inputs)
    {
        var buf = new HostBuffer(b.InputBufferWords(inputs.Length));
        for (int n = 0; n < inputs.Length; n++)
        {
            var values = inputs[n].Values;
            if (b.Input == BlockInput.Image)
                for (int i = 0; i < values.Length; i++) buf.Bytes[(int)(n * b.InputShape.Elements) + i] = (byte)values[i];
            else
                BitPacking.PackRows(values.Select(v => (sbyte)v).ToArray(), b.InputShape.C,
                    buf.Span.Slice((int)(n * b.InputShape.PackedWords), (int)b.InputShape.PackedWords));
        }
        return buf;
    }

    /// <summary>Reference output of the block's layers, as the engine lays it out: ±1 per channel or integer scores.</summary>
    public static double[] Expected(BnnModel model, Block b, RefTensor input)
    {
        int last = model.Layers[b.LastLayer] is ScoreBatchNorm ? b.LastLayer : b.LastLayer + 1;
        return ReferenceEngine.RunLayers(model, b.FirstLayer, last, input).Values;
    }

    public static double[] Actual(Block b, HostBuffer output, int n)
    {
        if (b.Output == BlockOutput.Scores)
            return output.Ints.Slice((int)(n * b.OutputShape.Elements), (int)b.OutputShape.Elements).ToArray().Select(x => (double)x).ToArray();
        var words = output.Span.Slice((int)(n * b.OutputShape.PackedWords), (int)b.OutputShape.PackedWords);
        return BitPacking.UnpackRows(words, b.OutputShape.Pixels, b.OutputShape.C).Select(x => (double)x).ToArray();
    }

    /// <summary>Asserts the configuration reproduces the reference bit for bit; the message names seed, block and config.</summary>
    public static void Check(BnnModel model, Block b, IKernelConfiguration config, ExecutionResources res, int batch, int seed,
        Func<Block, int, ExecutionResources, (TensorBuffer Input, TensorBuffer Output)>? place = null)
    {
        var r = new Random(seed);
        var inputs = RandomInputs(b, batch, r);
        var packed = Pack(b, inputs);
        using var runner = config.Prepare(b, batch, res);
        var output = new HostBuffer(b.OutputBufferWords(batch));
        // Poison the output so that words a kernel fails to write cannot match by accident.
        output.Span.Fill(0xA5A5_A5A5_A5A5_A5A5UL);
        RunOn(runner, packed, output, batch, res);
        for (int n = 0; n < batch; n++)
        {
            var expected = Expected(model, b, inputs[n]);
            var actual = Actual(b, output, n);
            for (int i = 0; i < expected.Length; i++)
                if (expected[i] != actual[i])
                    Assert.Fail($"seed {seed}, model {model.Name}, block {b}, config {config.Name}, batch {batch}: sample {n} element {i} " +
                                $"(pixel {i / b.OutputShape.C}, channel {i % b.OutputShape.C}) expected {expected[i]} got {actual[i]}");
            if (b.Output == BlockOutput.Bits) AssertTailBitsClear(b, output, n, seed, config);
        }
    }

    /// <summary>Runs a runner on host data, moving it to and from the runner's device when needed.</summary>
    public static void RunOn(IBlockRunner runner, HostBuffer input, HostBuffer output, int batch, ExecutionResources res)
    {
        var b = runner.Block;
        var device = runner.Configuration.Device;
        if (device == DeviceKind.Cpu) { runner.Run(input, output, batch); return; }
        using var dIn = res.Allocate(device, b.InputBufferWords(batch));
        using var dOut = res.Allocate(device, b.OutputBufferWords(batch));
        res.Copy(input, dIn, b.InputBufferWords(batch));
        runner.Run(dIn, dOut, batch);
        res.Copy(dOut, output, b.OutputBufferWords(batch));
        res.Synchronize(device);
    }

    static void AssertTailBitsClear(Block b, HostBuffer output, int n, int seed, IKernelConfiguration config)
    {
        int c = b.OutputShape.C, cw = b.OutputShape.ChannelWords;
        if (c % 64 == 0) return;
        ulong tail = ~0UL << (c & 63);
        var words = output.Span.Slice((int)(n * b.OutputShape.PackedWords), (int)b.OutputShape.PackedWords);
        for (int p = 0; p < b.OutputShape.Pixels; p++)
            Assert.True((words[p * cw + cw - 1] & tail) == 0, $"seed {seed}, block {b.Name}, config {config.Name}: tail bits set at pixel {p}");
    }
}
