using System.Diagnostics;
using HepBnn.Devices;
using HepBnn.Ops.Cpu;

namespace HepBnn.Runtime;

/// <summary>
/// Consecutive CPU blocks of a plan run inside one parallel region of the worker pool: the workers are woken once, run
/// block after block, and between blocks wait until the previous block's items are all done (spinning, then yielding,
/// then sleeping: no allocation, no kernel object), instead of one fork-join per block. Within a block, the
/// participants claim its work items (the same items as the block's own partition, on at most its thread cap) from a
/// per-block counter, so a participant descheduled on a shared machine delays only the item it holds. Results are
/// identical to running the blocks one by one: every item writes its own output words and the done-count orders the
/// blocks.
/// <para>A failing item stops the segment: its participant records the exception, the others leave at their next
/// wait, and <see cref="Run(int)"/> rethrows it as a <see cref="HepBnnException"/>.</para>
/// </summary>
internal sealed class CpuSegment : IRegionWork
{
    readonly ICpuRegionWork[] _blocks;
    readonly TensorBuffer[] _inputs, _outputs;
    readonly CpuWorkerPool _pool;
    /// <summary>Per block: the claim counter and, a 64-byte line apart, the done counter that waiting participants poll
    /// (claims then do not invalidate the waiters' line).</summary>
    readonly int[] _next;
    const int Stride = 32;
    readonly int _threads;
    int _batch;
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
        _next = new int[blocks.Length * Stride];
        _threads = blocks.Max(b => b.MaxThreads);
    }

    public void Run(int batch)
    {
        _batch = batch; _failed = false; _error = null;
        for (int b = 0; b < _blocks.Length; b++) { _next[b * Stride] = _next[b * Stride + Stride / 2] = 0; _blocks[b].Bind(_inputs[b], _outputs[b]); }
        try { _pool.Region(_threads, this); }
        finally { foreach (var b in _blocks) b.Bind(null, null); }
        if (_error is { } e) throw e as HepBnnException ?? new HepBnnException("a CPU kernel failed: " + e.Message, e);
    }

    /// <summary>Participant <paramref name="p"/>: every block in order. Before block b it waits until every item of block
    /// b − 1 is done (not until every participant arrived: a participant descheduled on a busy machine, holding no item,
    /// delays nobody; the others take its share). Scratch memory is indexed by the participant (unique in the region,
    /// and below each block's thread cap where it works).</summary>
    public void Run(int p, int participants, int worker)
    {
        try
        {
            for (int b = 0; b < _blocks.Length; b++)
            {
                if (b > 0 && !WaitDone(b - 1)) return;
                var block = _blocks[b];
                if (p >= Math.Min(participants, block.MaxThreads)) continue;
                int units = block.Units(_batch), u, done = 0;
                while (!_failed && (u = Interlocked.Increment(ref _next[b * Stride]) - 1) < units)
                {
                    block.Execute(u, p);
                    done++;
                }
                // one add per participant and block (not per item): 16 threads incrementing one line per item measurably
                // slowed fine partitions on the Xeon host
                if (done > 0) Interlocked.Add(ref _next[b * Stride + Stride / 2], done);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            _failed = true;
        }
    }

    /// <summary>Waits until every item of block <paramref name="b"/> is done; false when an item failed meanwhile.</summary>
    bool WaitDone(int b)
    {
        int units = _blocks[b].Units(_batch);
        long start = 0;
        while (Volatile.Read(ref _next[b * Stride + Stride / 2]) < units)
        {
            if (_failed) return false;
            if (start == 0) start = Stopwatch.GetTimestamp();
            long waited = Stopwatch.GetTimestamp() - start;
            if (waited < SpinTicks) Thread.SpinWait(20);
            else if (waited < YieldTicks) Thread.Yield();
            else Thread.Sleep(1); // a long item on another participant: give the core away
        }
        return !_failed;
    }
}
