using HepBnn.Devices;

namespace HepBnn.Tests.Devices;

/// <summary>The staging copy (plain, streaming on one thread, streaming spread over a pool's threads) leaves exactly the
/// caller's bytes in the buffer and nothing past them, for lengths around the chunk boundaries, odd lengths and
/// unaligned ends; the spread's work items cover the length once with at most one item per thread; and a spread copy
/// allocates nothing.</summary>
public class StagingCopyTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(1_000, 1)]
    [InlineData(16 * 1024, 8)]
    [InlineData(16 * 1024 + 1, 8)]
    [InlineData(65_537, 8)]
    [InlineData(200_704, 8)]   // VGG3 b256's input
    [InlineData(200_704, 16)]
    [InlineData(786_432, 8)]   // VGG7 b256's input
    [InlineData(1_000_003, 3)]
    public void ChunksCoverTheLengthOncePerThreadAtMost(int length, int threads)
    {
        int chunk = StagingCopy.ChunkOf(length, threads);
        Assert.True(chunk % 128 == 0 && chunk >= 128, $"length {length}, threads {threads}: chunk {chunk} is not whole 128-byte groups");
        int items = (length + chunk - 1) / chunk;
        Assert.True(items <= threads, $"length {length}, threads {threads}: {items} items of {chunk} bytes");
        Assert.True(length == 0 || (long)items * chunk >= length && (long)(items - 1) * chunk < length, $"length {length}: {items} × {chunk} does not cover it exactly once");
        if (length >= threads * StagingCopy.MinChunkBytes)
            Assert.Equal(threads, items); // large inputs use every thread
        Assert.Equal(64 * 1024, StagingCopy.ChunkOf(length, threads, 64 * 1024)); // the fixed chunks of before
    }

    [Fact]
    public void SpreadItemsAreSmallerThanTheFixedOnesForVgg3Batch256() =>
        Assert.Equal(25_088, StagingCopy.ChunkOf(200_704, 8)); // 8 items, not 4 of up to 64 KB

    [Theory]
    [InlineData(200_704, 1, 0)]
    [InlineData(200_704, 8, 0)]
    [InlineData(200_704, 8, 3)]     // the buffer's start 32-byte aligned, the source not
    [InlineData(65_536 * 3 + 77, 4, 5)]
    [InlineData(100_001, 8, 1)]
    [InlineData(70_000, 2, 0)]
    public void StreamingCopiesExactlyTheBytes(int length, int threads, int sourceOffset)
    {
        var rng = new Random(length + 31 * threads + sourceOffset);
        var source = new byte[length + sourceOffset];
        rng.NextBytes(source);
        using var pool = new CpuWorkerPool(threads);
        using var buffer = new HostBuffer((length + 8 + 64) / 8);
        Array.Fill(buffer.Data, 0xA5A5A5A5A5A5A5A5UL);
        var span = source.AsSpan(sourceOffset, length);
        StagingCopy.Copy(span, buffer, pool);
        var bytes = buffer.Bytes;
        int firstBad = -1;
        for (int i = 0; i < length && firstBad < 0; i++) if (bytes[i] != span[i]) firstBad = i;
        Assert.True(firstBad < 0, $"length {length}, threads {threads}, source offset {sourceOffset}: byte {firstBad} differs (seed {length + 31 * threads + sourceOffset})");
        for (int i = length; i < bytes.Length; i++)
            Assert.True(bytes[i] == 0xA5, $"length {length}: byte {i} past the input was overwritten");
    }

    [Fact]
    public void SpreadCopyAllocatesNothing()
    {
        var source = new byte[200_704];
        new Random(5).NextBytes(source);
        using var pool = new CpuWorkerPool(8);
        using var buffer = new HostBuffer(source.Length / 8);
        StagingCopy.Copy(source, buffer, pool); // warm-up: the thread's work item is created once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 20; i++) StagingCopy.Copy(source, buffer, pool);
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(buffer.Bytes.SequenceEqual(source));
    }
}
