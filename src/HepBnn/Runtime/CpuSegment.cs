using System.Diagnostics;
using HepBnn.Devices;
using HepBnn.Ops.Cpu;

namespace HepBnn.Runtime;

/// <summary>
/// Consecutive CPU blocks of a plan run inside one parallel region of the worker pool: the workers are woken once, run
/// block after block, and between blocks wait until the previous block's items are all done, instead of one fork-join
/// per block.
/// <para><b>Static partitions, stolen when late.</b> Block b's items are cut into T_b contiguous slices (T_b: the block's
/// thread cap, the pool's size and the item count, whichever is least), slice q belonging to participant q. Each slice has
/// its own claim counter on its own cache line, so an owner claims its items without contention (16 threads incrementing
/// one shared line per item cost more than VGG3's b1 items themselves on the Xeon host), and the same core keeps
/// touching the same output words run after run. A participant whose own slices are done takes the items still
/// unclaimed in the others' slices (<see cref="Steal"/>: at once, or after a wait): one descheduled on a busy machine, or
/// on a vCPU the host runs at half speed, delays only the item it holds. Slices of
/// participants the region does not have (the pool runs it inline when its workers serve another caller) are taken at
/// once. A counter is armed for a run by whoever reaches it first (compare-and-swap of
/// run × 2³² + slice start), so nothing is reset between runs.</para>
/// <para><b>Waits.</b> After a block each participant adds the items it did to its own per-block total (own cache
/// line); before block b + 1 a participant waits until the totals of block b add up to every item of every run so far
/// (spinning, then yielding, then sleeping: no allocation, no kernel object, so never a hang, only a delay). Every block
/// writes its own output buffer, so only read-after-write dependencies exist. Results are identical to running the
/// blocks one by one (every item writes its own output words).</para>
/// <para>A failing item stops the segment: its participant records the exception, the others leave at their next
/// wait, and <see cref="Run(int)"/> rethrows it as a <see cref="HepBnnException"/> (the totals are reset).</para>
/// </summary>
internal sealed class CpuSegment : IRegionWork
{
    readonly ICpuRegionWork[] _blocks;
    readonly TensorBuffer[] _inputs, _outputs;
    readonly CpuWorkerPool _pool;
    const int Line = 16; // longs: 128 bytes, a cache line and its prefetch pair
    /// <summary>Claim counter of slice q of block b at ((b · threads) + q + 1) · Line: run × 2³² + next item. (Nothing
    /// in the first line of this or <see cref="_done"/>: it would share a cache line with the object before the array,
    /// e.g. this segment's fields, which every participant reads.)</summary>
    readonly long[] _claims;
    /// <summary>Participant p's items done in block b (all runs since the last failure) at (p + 1) · _doneStride + b.</summary>
    readonly long[] _done;
    readonly int _doneStride;
    /// <summary>What changes every run, together on one line that the caller writes and each participant reads once:
    /// at <see cref="Line"/> the run number, then the batch, then per block the items of every run since the last
    /// failure (what the done totals must reach). Everything else the participants read (this object's fields, the
    /// runners with their bound buffers) is written once, so it stays in every core's cache between runs.</summary>
    readonly long[] _state;
    const int RunAt = Line, BatchAt = Line + 1, TokenAt = Line + 2, TargetAt = Line + 3;
    readonly int _threads;
    bool _bound;
    volatile bool _failed;
    Exception? _error;

    /// <summary>How long a participant spins at a wait before yielding its core, and before sleeping. Yielding, not
    /// sleeping, for the first 20 ms: on an oversubscribed machine the awaited item runs on another thread that needs a
    /// core, which a yield hands over as a sleep does, but a 1 ms sleep then also delays the waiter by up to a
    /// millisecond after that item is done (2-core machine at load 40–60: per-block fork-joins, whose caller is woken by
    /// a pulse, beat such regions).</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 50_000, YieldTicks = Stopwatch.Frequency / 50; // 20 µs, 20 ms
    /// <summary>How long a participant waits for a block's last items before taking those still unclaimed: long enough
    /// that on time owners are not disturbed (touching their counters costs cache-line transfers), short against a
    /// descheduled thread's absence (milliseconds).</summary>
    static readonly long StealTicks = Stopwatch.Frequency / 100_000; // 10 µs
    /// <summary>With <see cref="AdaptiveSteal"/>: a participant steals after half the time its own slice took, but never
    /// sooner than this (on-time participants finish within about a microsecond of each other).</summary>
    static readonly long MinStealTicks = Stopwatch.Frequency / 500_000; // 2 µs

    /// <summary>When a participant takes other slices' unclaimed items (HEPBNN_STEAL). Eager (default): right after its
    /// own slices, before waiting. On the Xeon host some vCPUs run at half speed while many are busy
    /// (docs/results/cpu-xeon-cpu4): at b1 a block gives each participant only 1–16 items of 1–17 µs, so with a fixed
    /// 10 µs delay (Fixed) — or half the participant's own slice time, 2–10 µs (Adaptive) — the slow vCPU has claimed
    /// most of its slice by the time the others would help, and the block ends with it (VGG7 conv4 b1: 26.5 µs for
    /// 13.1 µs of ideal work). A thief first reads a slice's counter and increments it only while items are left, so
    /// an on-time owner's line is read, not taken, once per thief.</summary>
    internal StealPolicy Steal { get; set; } = EnvironmentSwitches.Steal;

    public int First { get; }
    public int Last => First + _blocks.Length - 1;
    /// <summary>Most participants of the region (the largest thread cap among the blocks, the pool's size at most).</summary>
    public int Threads => _threads;

    public CpuSegment(int first, ICpuRegionWork[] blocks, TensorBuffer[] inputs, TensorBuffer[] outputs, CpuWorkerPool pool)
    {
        First = first;
        _blocks = blocks; _inputs = inputs; _outputs = outputs; _pool = pool;
        _threads = Math.Max(1, Math.Min(pool.Threads, blocks.Max(b => b.MaxThreads)));
        _claims = new long[(blocks.Length * _threads + 2) * Line];
        _doneStride = (blocks.Length + Line - 1) / Line * Line;
        _done = new long[(_threads + 2) * _doneStride];
        _state = new long[TargetAt + blocks.Length + Line];
        if (blocks.Length > 0xFFFF) throw new HepBnnException($"a CPU segment of {blocks.Length} blocks (at most 65,535: run tokens number the blocks in 16 bits)");
    }

    /// <summary>Participant 0 returns only when every block's items are done (it takes late slices itself), so helpers
    /// that have not started by then need not run at all.</summary>
    public bool LateParticipantsMaySkip => true;

    public void Run(int batch)
    {
        if (_failed) _failed = false; // reset only when set: no store to a line the participants read
        if (_error is not null) _error = null;
        if (!_bound)
        {
            // Bound once for the session's life: the segment owns these runners (the session never runs them one by one).
            for (int b = 0; b < _blocks.Length; b++) _blocks[b].Bind(_inputs[b], _outputs[b]);
            _bound = true;
        }
        _state[RunAt]++;
        _state[BatchAt] = batch;
        _state[TokenAt] = CpuRunTokens.Next();
        for (int b = 0; b < _blocks.Length; b++) _state[TargetAt + b] += _blocks[b].Units(batch);
        try { _pool.Region(_threads, this); }
        finally
        {
            if (_failed || _error is not null)
            {
                Array.Clear(_done); // a failed run left totals short
                for (int b = 0; b < _blocks.Length; b++) _state[TargetAt + b] = 0;
            }
        }
        if (_error is { } e) throw e as HepBnnException ?? CpuWorkerPool.KernelFailure(e);
    }

    int Batch => (int)Volatile.Read(ref _state[BatchAt]);

    /// <summary>Slices of block <paramref name="b"/> when <paramref name="participants"/> take part.</summary>
    int Slices(int b, int participants) => Math.Max(1, Math.Min(Math.Min(participants, _blocks[b].MaxThreads), _blocks[b].Units(Batch)));

    /// <summary>Participant <paramref name="p"/>: in every block it may work on (below the block's thread cap), its own
    /// slice and those of absent participants (slices are cut for the full region; when the pool runs it inline, one
    /// participant takes them all). Scratch memory is indexed by the participant (unique in the region).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Run(int p, int participants, int worker)
    {
        try
        {
            long own = 0; // ticks this participant spent on its own slices of the block it worked on last
            for (int b = 0; b < _blocks.Length; b++)
            {
                int workers = Slices(b, participants);
                if (p >= workers) continue;
                if (b > 0 && !WaitDone(b - 1, p, participants, own)) return;
                int slices = Slices(b, _threads), done = 0;
                long t0 = Stopwatch.GetTimestamp();
                if (p < slices) done += Drain(b, p, slices, p);
                for (int q = workers + p; q < slices && !_failed; q += workers) done += Drain(b, q, slices, p);
                own = Stopwatch.GetTimestamp() - t0;
                // Slices of one item have nothing to take once their owners started (a late owner's is taken at the wait),
                // so only slices of two or more are scanned: reading 15 counters cost ~1 µs per boundary on the Xeon host.
                if (Steal == StealPolicy.Eager && _blocks[b].Units(Batch) >= 2 * slices) done += StealLeft(b, p, slices);
                AddDone(p, b, done);
            }
            // the caller leaves only when the last block is done (taking late slices), as the pool's join would make it wait anyway
            if (p == 0) WaitDone(_blocks.Length - 1, p, participants, own);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            _failed = true;
        }
    }

    void AddDone(int p, int b, int done)
    {
        if (done > 0) Volatile.Write(ref _done[(p + 1) * _doneStride + b], _done[(p + 1) * _doneStride + b] + done);
    }

    /// <summary>Runs the unclaimed items of slice <paramref name="q"/> of block <paramref name="b"/> as participant
    /// <paramref name="p"/>; returns how many it ran.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    int Drain(int b, int q, int slices, int p)
    {
        var block = _blocks[b];
        int units = block.Units(Batch), end = SliceClaims.End(units, q, slices);
        ref long claim = ref _claims[(b * _threads + q + 1) * Line];
        long token = _state[TokenAt] | (uint)b;
        SliceClaims.Arm(ref claim, SliceClaims.Tag(_state[RunAt]), SliceClaims.First(units, q, slices));
        int n = 0;
        while (!_failed)
        {
            int u = SliceClaims.Take(ref claim);
            if (u >= end) break;
            block.ExecuteInRun(u, p, token);
            n++;
        }
        return n;
    }

    /// <summary>Takes the items still unclaimed in the slices other than <paramref name="p"/>'s, slice after slice from
    /// the next one on (so thieves start on different slices); returns how many it ran. A slice whose counter has reached
    /// its end this run is only read.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    int StealLeft(int b, int p, int slices)
    {
        int units = _blocks[b].Units(Batch), done = 0;
        long run = SliceClaims.Tag(_state[RunAt]);
        for (int k = 1; k < slices && !_failed; k++)
        {
            int q = (p + k) % slices;
            if (SliceClaims.Exhausted(ref _claims[(b * _threads + q + 1) * Line], run, SliceClaims.End(units, q, slices))) continue;
            done += Drain(b, q, slices, p);
        }
        return done;
    }

    /// <summary>Waits until every item of block <paramref name="b"/> is done; false when an item failed meanwhile. A
    /// participant that worked on the block and has waited <see cref="StealTicks"/> (with <see cref="StealPolicy.Adaptive"/>:
    /// half its own slice time <paramref name="ownTicks"/>, 2–10 µs) takes the items still unclaimed in the other slices
    /// (their owner is late: descheduled, on a slower vCPU, or its slice is slower), once. (With
    /// <see cref="StealPolicy.Eager"/> it took them right after its own slice already.)</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    bool WaitDone(int b, int p, int participants, long ownTicks)
    {
        long target = _state[TargetAt + b], start = 0;
        int spin = _pool.SpinIterations;
        // Eager: the participant already took every unclaimed item right after its own slice (slices of 2+ items), and a
        // slice of one item has nothing to take once its owner started, so only the fixed fallback is left here.
        long stealAfter = Steal == StealPolicy.Adaptive ? Math.Clamp(ownTicks / 2, MinStealTicks, StealTicks) : StealTicks;
        bool stole = false;
        while (true)
        {
            long sum = 0;
            for (int q = 0; q < _threads; q++) sum += Volatile.Read(ref _done[(q + 1) * _doneStride + b]);
            if (sum >= target) return !_failed;
            if (_failed) return false;
            if (start == 0)
            {
                start = Stopwatch.GetTimestamp();
                // Slices whose owner has not even started this run (descheduled, or still waking): take them now rather
                // than after the steal delay; the owner, should it come, finds them claimed.
                if (p < Slices(b, participants))
                {
                    int slices = Slices(b, _threads), done = 0;
                    for (int k = 1; k < slices && !_failed; k++)
                        if ((p + k) % slices is var q && q < participants && !_pool.HasStarted(q)) done += Drain(b, q, slices, p);
                    AddDone(p, b, done);
                    if (done > 0) continue;
                }
            }
            long waited = Stopwatch.GetTimestamp() - start;
            if (!stole && waited >= stealAfter && p < Slices(b, participants))
            {
                stole = true;
                int done = StealLeft(b, p, Slices(b, _threads));
                AddDone(p, b, done);
                continue;
            }
            if (waited < SpinTicks) Thread.SpinWait(spin);
            else if (waited < YieldTicks) Thread.Yield();
            else Thread.Sleep(1); // a long item on another participant: give the core away
        }
    }
}
