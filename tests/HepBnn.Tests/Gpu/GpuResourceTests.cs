using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Tests.Gpu;

/// <summary>GPU buffers and copies of <see cref="ExecutionResources"/> on the emulated GPU.</summary>
[Collection(GpuCollection.Name)]
public class GpuResourceTests(CpuAcceleratorFixture fixture)
{
    static HostBuffer Random(long words, int seed)
    {
        var h = new HostBuffer(words);
        var r = new Random(seed);
        for (int i = 0; i < h.Data.Length; i++) h.Data[i] = (ulong)r.NextInt64();
        return h;
    }

    [Fact]
    public void CopiesRoundTripThroughTheGpuIncludingPartialLengths()
    {
        var res = fixture.Resources;
        Assert.True(res.TryOpen(DeviceKind.Gpu));
        foreach (long words in new long[] { 1, 7, 1000, 70_000 })
        {
            var src = Random(words, (int)words);
            using var a = res.Allocate(DeviceKind.Gpu, words);
            using var b = res.Allocate(DeviceKind.Gpu, words);
            Assert.IsType<GpuBuffer>(a);
            var back = new HostBuffer(words);
            back.Span.Fill(ulong.MaxValue);
            long part = words / 2 + 1;
            res.Copy(src, a, words);
            res.Copy(a, b, part);              // device → device, first half
            res.Copy(b, back, part);           // device → host is complete on return
            Assert.True(src.Span[..(int)part].SequenceEqual(back.Span[..(int)part]), $"{words} words: data differs after the round trip");
            Assert.True(back.Span[(int)part..].IndexOfAnyExcept(ulong.MaxValue) < 0, $"{words} words: copied past the requested length");
        }
    }

    [Fact]
    public void ManyHostBuffersStayCorrectBeyondThePageLockCache()
    {
        var res = fixture.Resources;
        using var device = res.Allocate(DeviceKind.Gpu, 16);
        for (int i = 0; i < HostPageLocks.Capacity + 20; i++)
        {
            var src = Random(16, i);
            var back = new HostBuffer(16);
            res.Copy(src, device, 16);
            res.Copy(device, back, 16);
            Assert.True(src.Span.SequenceEqual(back.Span), $"buffer {i}");
        }
    }

    [Fact]
    public void OversizedCopyIsAClearError()
    {
        var res = fixture.Resources;
        using var device = res.Allocate(DeviceKind.Gpu, 4);
        var e = Assert.Throws<HepBnnException>(() => res.Copy(new HostBuffer(8), device, 8));
        Assert.Contains("exceeds", e.Message);
    }

    [Fact]
    public void GpuRunnerRejectsHostBuffers()
    {
        var block = BlockCompiler.Compile(ModelZoo.Vgg3(1))[^1];
        using var runner = ConfigurationRegistry.Find("gpu.thread-per-pixel").Prepare(block, 1, fixture.Resources);
        var e = Assert.Throws<HepBnnException>(() => runner.Run(new HostBuffer(block.InputBufferWords(1)), new HostBuffer(block.OutputBufferWords(1)), 1));
        Assert.Contains("copy data to the GPU", e.Message);
    }
}
