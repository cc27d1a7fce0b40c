using System.Diagnostics;
using HepBnn.Devices;
using HepBnn.Ops.Cpu;

namespace HepBnn.Runtime;

/// <summary>
/// Consecutive CPU blocks of a plan run inside one parallel region of the worker pool: the workers are woken once, run
/// block after block, and between blocks wait only for the participants that worked on the previous block, instead of
/// one fork-join per block.
/// <para><b>Static partitions.</b> Participant p of the T = min(P, cap) participants working on a block always takes the
/// same contiguous slice of its work items, [p·U/T, (p+1)·U/T): no shared claim counter (16 threads incrementing one
/// cache line per item cost more than VGG3's b1 items themselves on the Xeon host), and the same core keeps touching the
/// same output words run after run.</para>
/// <para><b>Dependency waits.</b> After its slice of block b a participant stores the block's generation number
/// (run × blocks + b + 1, never reset) in its own cache line; before block b + 1 a participant waits until every worker
/// of block b has stored at least that number (spinning, then yielding, then sleeping: no allocation, no kernel object,
/// so no hang when a participant is descheduled or the machine has fewer cores than threads — only a delay). Every
/// block writes its own output buffer, so only read-after-write dependencies exist: block b + 1 reads what block b
/// wrote; a participant idle in a block waits before its next block for that block's workers, who themselves waited.
/// Results are identical to running the blocks one by one (every item writes its own output words).</para>
/// <para>A failing item stops the segment: its participant records the exception, the others leave at their next
/// wait, and <see cref="Run(int)"/> rethrows it as a <see cref="HepBnnException"/>.</para>
/// </summary>
internal sealed class CpuSegment : IRegionWork
{
    readonly ICpuRegionWork[] _blocks;
    readonly TensorBuffer[] _inputs, _outputs;
    readonly CpuWorkerPool _pool;
    /// <summary>Per participant, <see cref="Stride"/> longs apart: the generation of the last block it finished.</summary>
    readonly long[] _finished;
    const int Stride = 16; // 128 bytes: own cache line (and its prefetch pair)
    readonly int _threads;
    long _base; // generation of this run's block 0, minus one
    int _batch;
    volatile bool _failed;
    Exception? _error;

    /// <summary>How long a participant spins at a wait before yielding its core, and before sleeping.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 50_000, YieldTicks = Stopwatch.Frequency / 1_000; // 20 µs, 1 ms

    public int First { get; }
    public int Last => First + _blocks.Length - 1;
    /// <summary>Most participants of the region (the largest thread cap among the blocks, the pool's size at most).</summary>
    public int Threads => _threads;

    public CpuSegment(int first, ICpuRegionWork[] blocks, TensorBuffer[] inputs, TensorBuffer[] outputs, CpuWorkerPool pool)
    {
        First = first;
        _blocks = blocks; _inputs = inputs; _outputs = outputs; _pool = pool;
        _threads = Math.Min(pool.Threads, blocks.Max(b => b.MaxThreads));
        _finished = new long[_threads * Stride];
    }

    public void Run(int batch)
    {
        _batch = batch; _failed = false; _error = null;
        for (int b = 0; b < _blocks.Length; b++) _blocks[b].Bind(_inputs[b], _outputs[b]);
        try { _pool.Region(_threads, this); }
        finally
        {
            foreach (var b in _blocks) b.Bind(null, null);
            _base += _blocks.Length; // generations stay increasing across runs (the region joined every participant)
        }
        if (_error is { } e) throw e as HepBnnException ?? new HepBnnException("a CPU kernel failed: " + e.Message, e);
    }

    /// <summary>Workers of block <paramref name="b"/> when the region has <paramref name="participants"/>.</summary>
    int Workers(int b, int participants) => Math.Max(1, Math.Min(Math.Min(participants, _blocks[b].MaxThreads), _blocks[b].Units(_batch)));

    /// <summary>Participant <paramref name="p"/>: its slice of every block it works on, in order. Scratch memory is
    /// indexed by the participant (unique in the region, and below each block's thread cap where it works).</summary>
    public void Run(int p, int participants, int worker)
    {
        try
        {
            for (int b = 0; b < _blocks.Length; b++)
            {
                var block = _blocks[b];
                int workers = Workers(b, participants);
                if (p >= workers) continue;
                if (b > 0 && !WaitFinished(b - 1, participants)) return;
                int units = block.Units(_batch), u0 = (int)((long)units * p / workers), u1 = (int)((long)units * (p + 1) / workers);
                for (int u = u0; u < u1 && !_failed; u++) block.Execute(u, p);
                Volatile.Write(ref _finished[p * Stride], _base + b + 1);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            _failed = true;
        }
    }

    /// <summary>Waits until every worker of block <paramref name="b"/> finished it; false when an item failed meanwhile.</summary>
    bool WaitFinished(int b, int participants)
    {
        long generation = _base + b + 1;
        int workers = Workers(b, participants);
        long start = 0;
        for (int q = 0; q < workers; q++)
            while (Volatile.Read(ref _finished[q * Stride]) < generation)
            {
                if (_failed) return false;
                if (start == 0) start = Stopwatch.GetTimestamp();
                long waited = Stopwatch.GetTimestamp() - start;
                if (waited < SpinTicks) Thread.SpinWait(4);
                else if (waited < YieldTicks) Thread.Yield();
                else Thread.Sleep(1); // a long item on another participant: give the core away
            }
        return !_failed;
    }
}
