using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Reference;
using HepBnn.Runtime;
using HepBnn.Tests.Gpu;
using HepBnn.Tests.Support;

namespace HepBnn.Tests.Runtime;

/// <summary><see cref="InferenceSession.RunWithBinding"/> on the session's own buffers against the reference and against
/// <c>Run</c>, on the CPU and with the (emulated) GPU reading the bound input; its refusals; the staging copy.</summary>
[Collection(GpuCollection.Name)]
public class IoBindingTests(CpuAcceleratorFixture fixture)
{
    static void AssertReference(BnnModel model, byte[] images, int batch, ReadOnlySpan<int> raw, int per, string what)
    {
        for (int n = 0; n < batch; n++)
        {
            var expected = ReferenceEngine.RawScores(model, images.AsSpan((int)(n * model.InputShape.Elements), (int)model.InputShape.Elements));
            for (int k = 0; k < expected.Length; k++)
                Assert.True(expected[k] == raw[n * per + k], $"{what}: sample {n} class {k} expected {expected[k]} got {raw[n * per + k]}");
        }
    }

    void BoundRunsMatch(BnnModel model, string[] assignment, int maxBatch, int seed)
    {
        var blocks = BlockCompiler.Compile(model);
        using var session = new InferenceSession(model, blocks, assignment.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = maxBatch }, fixture.Resources);
        var binding = session.CreateIoBinding();
        Assert.Same(binding, session.CreateIoBinding());
        // Two batches (the full one, then a smaller one reusing the buffers): scores equal the reference and Run's.
        foreach (int batch in new[] { maxBatch, 1 })
        {
            var images = ModelZoo.RandomImages(model.InputShape, batch, seed + batch);
            images.CopyTo(binding.Input(batch));
            Assert.Equal(images.Length, binding.Input(batch).Length);
            session.RunWithBinding(binding, batch);
            string what = $"seed {seed}, [{string.Join(", ", assignment)}], batch {batch}";
            AssertReference(model, images, batch, binding.RawScores(batch), session.ScoresPerImage, what);
            var raw = new int[batch * session.ScoresPerImage];
            session.Run(images, batch, raw);
            Assert.True(raw.AsSpan().SequenceEqual(binding.RawScores(batch)), $"{what}: Run and RunWithBinding differ");
        }
    }

    [Fact]
    public void BoundRunsOnTheCpuMatchReference() =>
        BoundRunsMatch(TinyModels.Vgg3Like(11), ["cpu.mt-rows", "cpu.scalar", "cpu.mt-channels", "cpu.scalar"], maxBatch: 3, seed: 21);

    [Fact]
    public void BoundRunsStartingOnTheGpuMatchReference() =>
        BoundRunsMatch(TinyModels.Vgg3Like(12), ["gpu.thread-per-pixel", "cpu.mt-channels", "gpu.warp-reduce", "gpu.thread-per-output"], maxBatch: 2, seed: 22);

    [Fact]
    public void BoundRunsEndingOnTheGpuMatchReference() =>
        BoundRunsMatch(TinyModels.Vgg3Like(13), ["cpu.mt-rows", "gpu.tiled-shared", "cpu.scalar", "gpu.warp-reduce"], maxBatch: 2, seed: 23);

    /// <summary>Float NCHW input is converted straight into the staging buffer: the same final scores as the byte path,
    /// with the GPU (emulated) reading the staging first and with the CPU.</summary>
    [Theory]
    [InlineData("gpu.thread-per-pixel", 31)]
    [InlineData("cpu.mt-rows", 32)]
    public void FloatInputMatchesTheBytePath(string first, int seed)
    {
        var model = TinyModels.Vgg3Like(seed);
        var blocks = BlockCompiler.Compile(model);
        string[] assignment = [first, "cpu.mt-channels", "cpu.scalar", "cpu.scalar"];
        using var session = new InferenceSession(model, blocks, assignment.Select(ConfigurationRegistry.Find).ToArray(),
            new SessionOptions { MaxBatch = 3 }, fixture.Resources);
        var s = model.InputShape;
        var images = ModelZoo.RandomImages(s, 3, seed);
        var nchw = new float[images.Length];
        for (int n = 0; n < 3; n++)
            for (int y = 0; y < s.H; y++)
                for (int x = 0; x < s.W; x++)
                    for (int c = 0; c < s.C; c++)
                        nchw[((n * s.C + c) * s.H + y) * s.W + x] = images[((n * s.H + y) * s.W + x) * s.C + c];
        var fromBytes = new double[3 * session.ScoresPerImage];
        var fromFloats = new double[3 * session.ScoresPerImage];
        session.Run(images, 3, fromBytes);
        session.Run(nchw, [3, s.C, s.H, s.W], fromFloats);
        Assert.Equal(fromBytes, fromFloats);
        var raw = new int[3 * session.ScoresPerImage];
        session.Run(images, 3, raw);
        AssertReference(model, images, 3, raw, session.ScoresPerImage, $"{first}, seed {seed}");
    }

    [Fact]
    public void BadBindingsAreRefused()
    {
        var model = TinyModels.Vgg3Like(14);
        using var a = new InferenceSession(model, "cpu.scalar", new SessionOptions { MaxBatch = 2 });
        using var b = new InferenceSession(model, "cpu.scalar", new SessionOptions { MaxBatch = 2 });
        var binding = a.CreateIoBinding();
        Assert.Contains("another session", Assert.Throws<HepBnnException>(() => b.RunWithBinding(binding, 1)).Message);
        Assert.Contains("out of range", Assert.Throws<HepBnnException>(() => a.RunWithBinding(binding, 3)).Message);
        Assert.Contains("out of range", Assert.Throws<HepBnnException>(() => a.RunWithBinding(binding, 0)).Message);
        Assert.Contains("out of range", Assert.Throws<HepBnnException>(() => binding.Input(3)).Message);
        Assert.Contains("out of range", Assert.Throws<HepBnnException>(() => binding.RawScores(0)).Message);
        Assert.Throws<ArgumentNullException>(() => a.RunWithBinding(null!, 1));
        a.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.RunWithBinding(binding, 1));
        Assert.Throws<ObjectDisposedException>(() => a.CreateIoBinding());
    }

    /// <summary>Every length class of the staging copy (plain below the threshold; streaming: unaligned head, 128-byte
    /// body, 32-byte steps, tail; one chunk or several over the pool), at odd source offsets; nothing past the length is written.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(100)]
    [InlineData(StagingCopy.StreamingMinBytes - 1)]
    [InlineData(StagingCopy.StreamingMinBytes)]
    [InlineData(StagingCopy.StreamingMinBytes + 77)]
    [InlineData(5 * StagingCopy.ChunkBytes + 13)]
    public void StagingCopyCopiesExactly(int length)
    {
        var rng = new Random(length);
        var source = new byte[length + 7];
        rng.NextBytes(source);
        using var pool = new CpuWorkerPool(3);
        foreach (int offset in new[] { 0, 3 })
            foreach (var p in new[] { null, pool })
            {
                using var target = new HostBuffer((length + 64) / 8 + 1);
                target.Bytes.Fill(0xEE);
                StagingCopy.Copy(source.AsSpan(offset, length), target, p);
                Assert.True(target.Bytes[..length].SequenceEqual(source.AsSpan(offset, length)), $"length {length}, offset {offset}, pool {p is not null}");
                Assert.True(target.Bytes[length..].IndexOfAnyExcept((byte)0xEE) < 0, $"length {length}, offset {offset}: bytes past the copy changed");
            }
    }

    [Fact]
    public unsafe void StreamingCopyHandlesEveryAlignment()
    {
        var source = new byte[300];
        new Random(5).NextBytes(source);
        using var target = new HostBuffer(64);
        for (int shift = 0; shift < 40; shift++)
            for (int length = 0; length < 260; length += 37)
            {
                target.Bytes.Clear();
                fixed (byte* s = source)
                fixed (byte* d = target.Bytes)
                    StagingCopy.Stream(s + 1, d + shift, length);
                Assert.True(target.Bytes.Slice(shift, length).SequenceEqual(source.AsSpan(1, length)), $"shift {shift}, length {length}");
                Assert.True(target.Bytes[..shift].IndexOfAnyExcept((byte)0) < 0 && target.Bytes[(shift + length)..].IndexOfAnyExcept((byte)0) < 0,
                    $"shift {shift}, length {length}: bytes outside the copy changed");
            }
    }

    /// <summary>Bound runs and the streaming staging copy allocate nothing once warm (the copy's work item is created once
    /// per calling thread). Measured on this thread over up to 3 windows, as SteadyStateAllocationTests does.</summary>
    [Fact]
    public void BoundRunsAndStagingCopiesAllocateNothing()
    {
        var model = TinyModels.Vgg3Like(15);
        using var session = new InferenceSession(model, "cpu.scalar", new SessionOptions { MaxBatch = 2, CpuThreads = 1 });
        var binding = session.CreateIoBinding();
        ModelZoo.RandomImages(model.InputShape, 2, 3).CopyTo(binding.Input(2));
        var source = new byte[3 * StagingCopy.ChunkBytes];
        using var target = new HostBuffer(source.Length / 8);
        using var pool = new CpuWorkerPool(2);
        void Runs()
        {
            for (int i = 0; i < 20; i++)
            {
                session.RunWithBinding(binding, 2);
                StagingCopy.Copy(source, target, pool);
            }
        }
        Runs();
        long allocated = -1;
        for (int window = 0; window < 3 && allocated != 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            Runs();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
        Assert.True(allocated == 0, $"{allocated} bytes allocated over 20 bound runs and staging copies");
    }

    [Fact]
    public void StagingCopyRefusesTooLongInput()
    {
        using var target = new HostBuffer(2);
        Assert.Throws<HepBnnException>(() => StagingCopy.Copy(new byte[17], target, null));
    }
}
