using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Reference;

/// <summary>Where a configuration's output differs from the reference (the first difference found).</summary>
public sealed record BlockMismatch(int Sample, int Element, int Pixel, int Channel, double Expected, double Actual, string? Problem = null)
{
    public override string ToString() => Problem ?? $"sample {Sample} element {Element} (pixel {Pixel}, channel {Channel}) expected {Expected} got {Actual}";
}

/// <summary>
/// One block on seeded random inputs with the reference output computed once (plain loops over the block's layers), so
/// that any number of configurations can be checked against it bit for bit — the oracle of the tests and of `hepbnn verify`.
/// </summary>
public sealed class BlockCase
{
    public BnnModel Model { get; }
    public Block Block { get; }
    public int Batch { get; }
    public int Seed { get; }
    public RefTensor[] Inputs { get; }
    /// <summary>Block input packed as the engine lays it out (image bytes or bits).</summary>
    public HostBuffer Packed { get; }
    /// <summary>Per sample: ±1 per channel (bits output) or integer scores.</summary>
    public double[][] Expected { get; }

    public BlockCase(BnnModel model, Block block, int batch, int seed)
    {
        Model = model; Block = block; Batch = batch; Seed = seed;
        Inputs = RandomInputs(block, batch, new Random(seed));
        Packed = Pack(block, Inputs);
        Expected = Inputs.Select(x => ExpectedOutput(model, block, x)).ToArray();
    }

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
    public static double[] ExpectedOutput(BnnModel model, Block b, RefTensor input)
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

    /// <summary>Runs <paramref name="config"/> on this case and returns the first difference from the reference, or null.</summary>
    public BlockMismatch? Check(IKernelConfiguration config, ExecutionResources res)
    {
        using var runner = config.Prepare(Block, Batch, res);
        var output = new HostBuffer(Block.OutputBufferWords(Batch));
        // Poison the output so that words a kernel fails to write cannot match by accident.
        output.Span.Fill(0xA5A5_A5A5_A5A5_A5A5UL);
        RunOn(runner, Packed, output, Batch, res);
        for (int n = 0; n < Batch; n++)
        {
            var expected = Expected[n];
            var actual = Actual(Block, output, n);
            int c = Block.OutputShape.C;
            for (int i = 0; i < expected.Length; i++)
                if (expected[i] != actual[i]) return new BlockMismatch(n, i, i / c, i % c, expected[i], actual[i]);
            if (TailBitsSet(output, n) is int pixel) return new BlockMismatch(n, -1, pixel, -1, 0, 0, $"sample {n}: tail bits set at pixel {pixel}");
        }
        return null;
    }

    /// <summary>Runs a runner on host data, moving it to and from the runner's device when needed.</summary>
    public static void RunOn(IBlockRunner runner, HostBuffer input, HostBuffer output, int batch, ExecutionResources res)
    {
        var b = runner.Block;
        var device = runner.Configuration.Device;
        if (device == DeviceKind.Cpu) { runner.Run(input, output, batch); return; }
        using var dIn = res.Allocate(device, b.InputBufferWords(batch));
        using var dOut = res.Allocate(device, b.OutputBufferWords(batch));
        // Poison the device output too: a GPU kernel that skips words must not inherit the host's poison pattern by luck.
        res.Copy(output, dOut, b.OutputBufferWords(batch));
        res.Copy(input, dIn, b.InputBufferWords(batch));
        runner.Run(dIn, dOut, batch);
        res.Copy(dOut, output, b.OutputBufferWords(batch));
        res.Synchronize(device);
    }

    int? TailBitsSet(HostBuffer output, int n)
    {
        var b = Block;
        if (b.Output != BlockOutput.Bits) return null;
        int c = b.OutputShape.C, cw = b.OutputShape.ChannelWords;
        if (c % 64 == 0) return null;
        ulong tail = ~0UL << (c & 63);
        var words = output.Span.Slice((int)(n * b.OutputShape.PackedWords), (int)b.OutputShape.PackedWords);
        for (int p = 0; p < b.OutputShape.Pixels; p++)
            if ((words[p * cw + cw - 1] & tail) != 0) return p;
        return null;
    }
}
