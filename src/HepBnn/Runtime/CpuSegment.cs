using System.Diagnostics;
using HepBnn.Devices;
using HepBnn.Ops.Cpu;

namespace HepBnn.Runtime;

/// <summary>
/// Consecutive CPU blocks of a plan run inside one parallel region of the worker pool: the workers are woken once, run
/// block after block, and wait for each other at a barrier between blocks (spinning, then yielding, then sleeping: no
/// allocation, no kernel object), instead of one fork-join per block. Within a block, the participants claim its work
/// items (the same items as the block's own partition, on at most its thread cap) from a per-block counter, so a
/// participant descheduled on a shared machine delays only the items it holds. Results are identical to running the
/// blocks one by one: every item writes its own output words and the barrier orders the blocks.
/// <para>A failing item stops the segment: its participant records the exception, the others leave at the next
/// barrier, and <see cref="Run"/> rethrows it as a <see cref="HepBnnException"/>.</para>
/// </summary>
internal sealed class CpuSegment : IRegionWork
{
    readonly ICpuRegionWork[] _blocks;
    readonly TensorBuffer[] _inputs, _outputs;
    readonly CpuWorkerPool _pool;
    readonly int[] _next;
    readonly int _threads;
    int _batch, _arrived, _phase;
    volatile bool _failed;
    Exception? _error;

    /// <summary>How long a participant spins at a barrier before yielding its core, and before sleeping.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 50_000, YieldTicks = Stopwatch.Frequency / 1_000; // 20 µs, 1 ms

    public int First { get; }
    public int Last => First + _blocks.Length - 1;

    public CpuSegment(int first, ICpuRegionWork[] blocks, TensorBuffer[] inputs, TensorBuffer[] outputs, CpuWorkerPool pool)
    {
        First = first;
        _blocks = blocks; _inputs = inputs; _outputs = outputs; _pool = pool;
        _next = new int[blocks.Length * 16]; // one counter per 64-byte line: participants of a block do not share lines with the next
        _threads = blocks.Max(b => b.MaxThreads);
    }

    public void Run(int batch)
    {
        _batch = batch; _failed = false; _error = null; _arrived = 0;
        for (int b = 0; b < _blocks.Length; b++) { _next[b * 16] = 0; _blocks[b].Bind(_inputs[b], _outputs[b]); }
        try { _pool.Region(_threads, this); }
        finally { foreach (var b in _blocks) b.Bind(null, null); }
        if (_error is { } e) throw e as HepBnnException ?? new HepBnnException("a CPU kernel failed: " + e.Message, e);
    }

    /// <summary>Participant <paramref name="p"/>: every block in order, a barrier between blocks. Scratch memory is indexed
    /// by the participant (unique in the region and below each block's thread cap where it works).</summary>
    public void Run(int p, int participants, int worker)
    {
        try
        {
            for (int b = 0; b < _blocks.Length; b++)
            {
                var block = _blocks[b];
                int threads = Math.Min(participants, block.MaxThreads), units = block.Units(_batch);
                if (p < threads)
                {
                    int u;
                    while (!_failed && (u = Interlocked.Increment(ref _next[b * 16]) - 1) < units) block.Execute(u, p);
                }
                if (b + 1 < _blocks.Length && !Barrier(participants)) return;
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            _failed = true;
        }
    }

    /// <summary>Waits until all participants arrived (sense by phase number); false when one failed meanwhile.</summary>
    bool Barrier(int participants)
    {
        if (participants == 1) return !_failed;
        int phase = Volatile.Read(ref _phase);
        if (Interlocked.Increment(ref _arrived) == participants)
        {
            Volatile.Write(ref _arrived, 0);
            Interlocked.Increment(ref _phase);
            return !_failed;
        }
        long start = Stopwatch.GetTimestamp();
        while (Volatile.Read(ref _phase) == phase)
        {
            if (_failed) return false;
            long waited = Stopwatch.GetTimestamp() - start;
            if (waited < SpinTicks) Thread.SpinWait(20);
            else if (waited < YieldTicks) Thread.Yield();
            else Thread.Sleep(1); // a long block on another participant: give the core away
        }
        return !_failed;
    }
}
