using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HepBnn.Devices;

/// <summary>
/// Copies the caller's input bytes into a page-locked staging buffer that the GPU then reads by DMA. Measured on the
/// H200 machine (docs/results/h200-io256): a plain one-thread copy of VGG7's b256 input (786 KB) takes 22 µs, but the
/// page-locked H2D that follows then takes ~55 µs instead of 23 µs, because the DMA has to pull the lines the copy left
/// dirty in the CPU caches (copy + graph H2D: 77 µs). So large inputs are copied with non-temporal stores (straight to
/// memory, no dirty lines left behind) in chunks spread over the session's CPU workers; small inputs (batch 1: ~1-3 KB)
/// keep the plain copy, where a hand-off would cost more than the copy. The items are the length spread evenly over the
/// threads (<see cref="ChunkOf"/>), not fixed 64 KB: VGG3's b256 input in 4 items of up to 64 KB (one thread's 64 KB of
/// streaming stores) cost its <c>Run</c> ≈ 8 µs over I/O binding, in 8 items of 25 KB ≈ 6 µs (H200: 51.7 → 49.7 µs,
/// median of 7 alternated runs; issue 9, docs/results/h200-fc256). Deterministic: the bytes are the same either way.
/// Measured there on one session's back-to-back runs of the b256 found plans: VGG7 318.1 → 285.4 µs, VGG3 85.5 → 73.8 µs.
/// <see cref="Mode"/> (HEPBNN_STAGING_COPY=plain|streaming) forces one way, for measuring the difference.
/// </summary>
public static unsafe class StagingCopy
{
    /// <summary>Below this many bytes the copy is plain and on the calling thread.</summary>
    public const int StreamingMinBytes = 64 * 1024;
    /// <summary>Bytes per work item of the parallel copy before issue 9's spread (HEPBNN_STAGING_CHUNK_KB=64 runs it so):
    /// VGG3's b256 input (200,704 B) made 4 items, so 3 threads each streamed 64 KB.</summary>
    public const int ChunkBytes = 64 * 1024;
    /// <summary>Smallest work item of the spread copy: below it a hand-off costs more than the bytes it saves.</summary>
    public const int MinChunkBytes = 16 * 1024;
    /// <summary>Threads (the caller included) the parallel copy uses by default (HEPBNN_STAGING_THREADS overrides it,
    /// for measuring); the copy is spread evenly over them (16 measured no faster than 8 at VGG3 b256).</summary>
    public const int MaxThreads = 8;

    public enum CopyMode { Auto, Plain, Streaming }

    /// <summary>From HEPBNN_STAGING_COPY (auto when unset; see <see cref="EnvironmentSwitches"/>).</summary>
    public static CopyMode Mode => EnvironmentSwitches.StagingCopy;

    /// <summary>Whether this machine has the non-temporal 32-byte stores the streaming copy uses.</summary>
    public static bool StreamingSupported => Avx.IsSupported;

    /// <summary>Copies <paramref name="source"/> to the start of <paramref name="destination"/>, on <paramref name="pool"/>'s
    /// threads when it is large (see the class remarks). Allocation-free.</summary>
    public static void Copy(ReadOnlySpan<byte> source, HostBuffer destination, CpuWorkerPool? pool)
    {
        var target = destination.Bytes;
        if (source.Length > target.Length)
            throw new HepBnnException($"staging copy of {source.Length} bytes into a buffer of {target.Length}");
        bool streaming = StreamingSupported && Mode != CopyMode.Plain && (Mode == CopyMode.Streaming || source.Length >= StreamingMinBytes);
        if (!streaming)
        {
            source.CopyTo(target);
            return;
        }
        fixed (byte* s = source)
        fixed (byte* d = target)
        {
            int threads = Math.Min(EnvironmentSwitches.StagingThreads, pool?.Threads ?? 1);
            int chunk = ChunkOf(source.Length, threads, EnvironmentSwitches.StagingChunkKb * 1024);
            int chunks = (source.Length + chunk - 1) / chunk;
            if (pool is null || chunks == 1)
            {
                Stream(s, d, source.Length);
                return;
            }
            var work = Work.ForThread;
            work.Set(s, d, source.Length, chunk);
            try { pool.For(chunks, work, threads); }
            finally { work.Set(null, null, 0, 1); }
        }
    }

    /// <summary>Bytes per work item: <paramref name="fixedBytes"/> when set (the old fixed chunks, for measuring), else the
    /// length spread evenly over <paramref name="threads"/> items of at least <see cref="MinChunkBytes"/>, rounded up to
    /// 128 bytes (a whole store group of <see cref="Stream"/>, so every item after the first starts 32-byte aligned where
    /// the buffer does): VGG3 b256's 200,704 B → 8 items of 25,088 B instead of 4 of up to 64 KB.</summary>
    internal static int ChunkOf(int length, int threads, int fixedBytes = 0)
    {
        if (fixedBytes > 0) return fixedBytes;
        int items = Math.Max(1, Math.Min(threads, length / MinChunkBytes));
        long per = ((long)length + items - 1) / items;
        return (int)Math.Max(128, (per + 127) & ~127L);
    }

    /// <summary>One chunk per index; the pointers are valid only during <see cref="Copy"/> (the spans are fixed there).</summary>
    sealed class Work : IParallelWork
    {
        [ThreadStatic] static Work? t_work;
        public static Work ForThread => t_work ??= new Work();

        byte* _s, _d;
        int _length, _chunk;

        public void Set(byte* s, byte* d, int length, int chunk) { _s = s; _d = d; _length = length; _chunk = chunk; }

        public void Execute(int index)
        {
            long start = (long)index * _chunk;
            int length = (int)Math.Min(_chunk, _length - start);
            Stream(_s + start, _d + start, length);
        }
    }

    /// <summary>Copies <paramref name="length"/> bytes with non-temporal stores where the destination is 32-byte aligned
    /// (plain copies for the unaligned head and the tail), then fences so the stores are visible before the caller
    /// hands the buffer to the DMA engine.</summary>
    internal static void Stream(byte* s, byte* d, int length)
    {
        if (!Avx.IsSupported)
        {
            new ReadOnlySpan<byte>(s, length).CopyTo(new Span<byte>(d, length));
            return;
        }
        int head = (int)((32 - ((nuint)d & 31)) & 31);
        if (head > length) head = length;
        new ReadOnlySpan<byte>(s, head).CopyTo(new Span<byte>(d, head));
        int i = head;
        for (; i + 128 <= length; i += 128)
        {
            var v0 = Avx.LoadVector256(s + i);
            var v1 = Avx.LoadVector256(s + i + 32);
            var v2 = Avx.LoadVector256(s + i + 64);
            var v3 = Avx.LoadVector256(s + i + 96);
            Avx.StoreAlignedNonTemporal(d + i, v0);
            Avx.StoreAlignedNonTemporal(d + i + 32, v1);
            Avx.StoreAlignedNonTemporal(d + i + 64, v2);
            Avx.StoreAlignedNonTemporal(d + i + 96, v3);
        }
        for (; i + 32 <= length; i += 32) Avx.StoreAlignedNonTemporal(d + i, Avx.LoadVector256(s + i));
        new ReadOnlySpan<byte>(s + i, length - i).CopyTo(new Span<byte>(d + i, length - i));
        Sse.StoreFence();
    }
}
