using System.Diagnostics;

namespace HepBnn.Devices;

/// <summary>A unit of parallel work: Execute(i) for i in [0, count). Runners keep one instance, so dispatch allocates nothing.</summary>
public interface IParallelWork
{
    void Execute(int index);

    /// <summary>As <see cref="Execute(int)"/>, told which participant runs it: <paramref name="worker"/> is in
    /// [0, <see cref="CpuWorkerPool.Threads"/>) and unique among the threads of one <see cref="CpuWorkerPool.For"/> call
    /// (0 = the calling thread), so work items can use per-worker scratch memory.</summary>
    void Execute(int index, int worker) => Execute(index);
}

/// <summary>Work of a parallel region (<see cref="CpuWorkerPool.Region"/>): one call per participant, each on its own thread.</summary>
public interface IRegionWork
{
    void Run(int participant, int participants, int worker);

    /// <summary>True when the work is complete once the caller's <see cref="Run"/> (participant 0) returns, whoever else
    /// took part (e.g. static slices that present participants take over from absent ones): helpers that have not
    /// started by then skip the run instead of holding the join. False: every participant runs exactly once.</summary>
    bool LateParticipantsMaySkip => false;
}

/// <summary>A fixed set of worker threads created once (per session or shared by a <see cref="Runtime.SessionPool"/>).
/// <see cref="For"/> hands out indices dynamically and the calling thread works too; returns when every index is done.
/// <para>Hand-off for microsecond work: the caller publishes a job by bumping one epoch word (job number × 2¹⁶ +
/// helpers), which idle workers poll for a while (<see cref="HotTicks"/>) before parking on their own semaphore; the
/// caller releases only the helpers that parked. Each helper reports completion in its own cache line, which the caller
/// polls. So waking and joining hot workers costs a few cache-line transfers, not a contended lock per worker (the
/// earlier shared SemaphoreSlim: 7–11 µs for 8–16 threads on the Xeon host). Helpers that have not started when the work
/// is all taken (or, for a region that allows it, done) skip the job instead of holding the join (see
/// <see cref="CancelLate"/>).</para>
/// <para>Thread safety: <see cref="For"/> may be called from several threads. One call at a time owns the workers; a
/// call that finds them busy runs its items inline on its own thread (its core does the work instead of waiting for a
/// hand-off), so concurrent sessions never queue behind each other. A call from inside a work item of this pool
/// (nesting) also runs inline instead of deadlocking. Work items must not block on another thread's use of the pool.
/// The first exception of a work item stops handing out indices and is rethrown from For as a
/// <see cref="HepBnnException"/> (inner exception attached); the pool stays usable. Dispose must not race with For.</para>
/// <para>The methods every participant runs (here, in the CPU segments and in the runners' Execute) are
/// AggressiveOptimization: compiled optimized once, never as tiered code, whose dynamic-PGO instrumentation has all
/// threads increment the same counters (16-thread VGG3 b1 plans on the Xeon host ran bimodal, median 31–38 µs instead
/// of 14, until PGO was off: docs/results/cpu-xeon-cpu3).</para></summary>
public sealed class CpuWorkerPool : IDisposable
{
    readonly Thread[] _threads;
    /// <summary>Per worker: the semaphore it parks on when no job came while it spun.</summary>
    readonly SemaphoreSlim[] _wake;
    /// <summary>Per worker, <see cref="Line"/> longs apart: [0] the last job it finished, [<see cref="StartAt"/>] the last
    /// job it started (−job: the caller finished that job without it), [Line/2] 1 while it is parked (or about to park).
    /// Index 0 belongs to the calling thread and stays unused.</summary>
    readonly long[] _slots;
    const int Line = 16; // 128 bytes: a cache line plus the adjacent-line prefetch pair
    const int StartAt = 2, TraceStartAt = 3, TraceEndAt = 4;
    /// <summary>Whether the caller, once every item is taken (For) or done (a region), leaves without the helpers that have
    /// not started yet (HEPBNN_POOL_CANCEL=0 turns it off, for comparison). A helper that is descheduled or still waking
    /// when the job is published would otherwise hold the join until the OS runs it again — 100 µs and more in a VM, for
    /// a job whose work the others already did.</summary>
    static readonly bool CancelLate = EnvironmentSwitches.PoolCancelLate;
    /// <summary>See <see cref="CancelLate"/> (HEPBNN_POOL_CANCEL, on by default).</summary>
    public static bool SkipsLateHelpers => CancelLate;
    /// <summary>HEPBNN_POOL_TRACE=1: every job's hand-off, work and join times go to <see cref="Trace"/> (diagnostics).</summary>
    public static readonly bool Tracing = EnvironmentSwitches.PoolTrace;
    /// <summary>The last jobs' timings when <see cref="Tracing"/> is on (a ring, oldest overwritten).</summary>
    public PoolTrace? Trace { get; }
    /// <summary>The published job: number × 2¹⁶ + helpers (workers 1..helpers take part), alone on its line.</summary>
    readonly long[] _epochLine = new long[2 * Line];
    const int EpochAt = Line;
    long _job;
    /// <summary>Completion signal for a caller that stops spinning: a plain monitor (ManualResetEventSlim allocates its
    /// lock on the first blocking wait, breaking allocation-free inference), waited on with a timeout so that a missed
    /// pulse costs at most a millisecond, never a hang.</summary>
    readonly object _doneGate = new();
    int _callerBlocked;
    readonly object _gate = new();
    IParallelWork? _work;
    int _count, _next;
    /// <summary>Sliced <see cref="For(int, IParallelWork, int)"/>: slices of the current job, and per slice q at
    /// (q + 1) · <see cref="Line"/> its claim counter, job × 2³² + next item (armed by whoever reaches it first).</summary>
    int _forSlices;
    readonly long[] _forClaims;
    volatile bool _forFailed;
    /// <summary>Whether For gives each participant its own slice and claim counter (HEPBNN_POOL_FOR=sliced, the default)
    /// or has all increment one shared counter per item (shared). Settable for same-process A/B measurements; set only
    /// between calls.</summary>
    public bool SlicedFor { get; set; } = EnvironmentSwitches.PoolSlicedFor;
    /// <summary>Pause iterations between polls of a waiting worker, of the caller's join, and of a CPU segment's
    /// participants at a block boundary (HEPBNN_POOL_SPIN, 4 by default). Settable for A/B measurements between calls.</summary>
    public int SpinIterations { get; set; } = EnvironmentSwitches.PoolSpin;
    /// <summary>How long an idle worker polls without yielding at all (HEPBNN_POOL_PURE_SPIN_US; 0 by default: a yield
    /// every 256 pause iterations from the start). The idea: a yield is a system call, and with one every few µs some
    /// of 15 helpers would be inside one when a region is published. Measured on the Xeon host (docs/results/cpu-xeon-cpu6,
    /// same process, alternated): 20 µs without yields changed neither the empty region (1.75–1.92 → 1.97–2.49 µs at 16
    /// threads) nor a block boundary (1.26–1.37 either way), so the default stays as it was; kept for A/B runs.</summary>
    public long PureSpinTicks { get; set; } = EnvironmentSwitches.PoolPureSpinUs * Stopwatch.Frequency / 1_000_000;
    IRegionWork? _region; // set during Region: worker w is participant w (the caller is 0)
    int _participants;
    volatile bool _stopping;
    Exception? _error;
    /// <summary>The pool whose work the current thread is executing (nesting detection).</summary>
    [ThreadStatic] static CpuWorkerPool? t_inside;
    /// <summary>How long an idle worker (or the caller waiting for the last items) spins before blocking: the next
    /// parallel block of an inference usually follows within microseconds, and waking a blocked thread costs tens.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 10_000; // 100 µs
    /// <summary>How long an idle worker polls the epoch with a yield only every 64 polls (a yield is a system call,
    /// microseconds in a VM, during which the worker does not see a new job), before yielding on every poll. Short: the
    /// GPU plans a session or a verdict runs between CPU runs need their host threads' cores (a 1 ms variant was not
    /// measured and was dropped for that reason).</summary>
    static readonly long TightTicks = Stopwatch.Frequency / 10_000; // 100 µs
    /// <summary>How long an idle worker stays hot before parking: it spins for <see cref="TightTicks"/>, then yields its
    /// core on every poll (free when nothing else wants it, and wakes within a microsecond) up to this. A parked worker
    /// costs ~10 µs or more to wake (a futex round trip per worker, in sequence) — more than VGG3's whole b1 inference on
    /// 8 Xeon cores — so runs that come back within this keep the workers' hand-off at a few cache-line transfers: a
    /// session serving requests, the CPU blocks of a plan around a GPU segment, plans measured interleaved. (OpenMP
    /// runtimes keep their workers spinning 0.2–200 ms for the same reason.)</summary>
    static readonly long HotTicks = Stopwatch.Frequency / 500; // 2 ms
    const int MaxThreads = (1 << 16) - 1;

    public int Threads => _threads.Length + 1;

    /// <summary>Tests only: called by a helper with (worker, job) after it saw a job's epoch and before it claims its start
    /// (so a test can hold a helper there, as the OS does when it deschedules it).</summary>
    internal Action<int, long>? BeforeBegin { get; set; }

    /// <summary>A work item's exception as the pool reports it: a <see cref="HepBnnException"/> whose message names the
    /// original type and its first stack frame (where it was thrown), the original attached as the inner exception.</summary>
    internal static HepBnnException KernelFailure(Exception e)
    {
        string at = "";
        try
        {
            var method = new StackTrace(e, false).GetFrame(0)?.GetMethod();
            if (method is not null) at = $" at {method.DeclaringType?.Name}.{method.Name}";
        }
        catch { } // no frame information: the type alone
        return new HepBnnException($"a CPU kernel failed: {e.GetType().Name}{at}: {e.Message}", e);
    }

    /// <summary>Helpers that skipped a job because its work was done before they started (see <see cref="For(int, IParallelWork, int)"/>).</summary>
    public long SkippedHelpers { get; private set; }

    public CpuWorkerPool(int threads)
    {
        threads = Math.Clamp(threads, 1, MaxThreads);
        _threads = new Thread[threads - 1];
        _wake = new SemaphoreSlim[threads];
        _slots = new long[threads * Line];
        _forClaims = new long[(threads + 2) * Line];
        for (int i = 0; i < threads; i++) _wake[i] = new SemaphoreSlim(0);
        if (Tracing) Trace = new PoolTrace(8192);
        // helper w on the w-th allowed CPU (the caller, participant 0, stays where its owner runs it: most likely the first)
        int[] pinTo = EnvironmentSwitches.PinWorkers ? CpuAffinity.AllowedCpus() : [];
        for (int i = 0; i < _threads.Length; i++)
        {
            int worker = i + 1;
            int cpu = pinTo.Length > 0 ? pinTo[worker % pinTo.Length] : -1;
            _threads[i] = new Thread(() => { if (cpu >= 0) CpuAffinity.PinCurrentThread(cpu); WorkerLoop(worker); }) { IsBackground = true, Name = $"hepbnn-cpu-{i}" };
            _threads[i].Start();
        }
    }

    public void For(int count, IParallelWork work) => For(count, work, int.MaxValue);

    /// <summary>As <see cref="For(int, IParallelWork)"/> on at most <paramref name="maxThreads"/> threads (the caller
    /// included), so that a small block can use fewer cores than the pool has (fewer hand-offs, less waiting).</summary>
    public void For(int count, IParallelWork work, int maxThreads)
    {
        if (count <= 0) return;
        if (maxThreads <= 1) { RunInline(count, work); return; }
        // Inline on the calling thread: a single item, no workers, a nested call, or the workers already serving
        // another caller (then waiting for them would only add a hand-off; the caller's own core does the work).
        if (count == 1 || _threads.Length == 0 || t_inside == this || !Monitor.TryEnter(_gate))
        {
            RunInline(count, work);
            return;
        }
        try
        {
            int helpers = Math.Min(Math.Min(_threads.Length, maxThreads - 1), count - 1);
            _work = work; _count = count; _region = null;
            if (SlicedFor) { _forSlices = helpers + 1; _forFailed = false; _next = int.MaxValue / 2; }
            else { _forSlices = 0; _next = 0; }
            Run(helpers, skipLate: true); // items are handed out dynamically
            _work = null;
        }
        finally { Monitor.Exit(_gate); }
    }

    /// <summary>A parallel region: <paramref name="work"/>.Run(participant, P, worker) runs exactly once for each
    /// participant in [0, P), each on its own thread (the caller is one of them), so that participants may wait for each
    /// other (a barrier) inside — or at most once, for helpers that had not started when the caller's run returned, when
    /// <see cref="IRegionWork.LateParticipantsMaySkip"/>. Participant p is worker p (so per-worker scratch is per-participant too). P is at most
    /// <paramref name="maxThreads"/>, and 1 where <see cref="For(int, IParallelWork, int)"/> would run inline (nesting,
    /// or the workers serving another caller). A participant that fails must not leave the others waiting: the work's
    /// barrier has to give up when one fails.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void Region(int maxThreads, IRegionWork work)
    {
        if (maxThreads <= 1 || _threads.Length == 0 || t_inside == this || !Monitor.TryEnter(_gate))
        {
            var outer = t_inside;
            t_inside = this;
            try { work.Run(0, 1, 0); }
            catch (Exception e) when (e is not HepBnnException) { throw KernelFailure(e); }
            finally { t_inside = outer; }
            return;
        }
        try
        {
            int helpers = Math.Min(_threads.Length, maxThreads - 1);
            // Stores only where the value changes: the workers read these after every hand-off, and a line nobody wrote
            // since the last job is still in their caches (a session runs the same region every inference).
            if (!ReferenceEquals(_region, work)) _region = work;
            if (_participants != helpers + 1) _participants = helpers + 1;
            Run(helpers, work.LateParticipantsMaySkip); // _region stays set until another job (a For clears it): the owner of the work outlives its runs
        }
        finally { Monitor.Exit(_gate); }
    }

    /// <summary>Publishes the job to workers 1..<paramref name="helpers"/>, works as participant 0, waits for the helpers
    /// and rethrows the first failure.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    void Run(int helpers, bool skipLate)
    {
        long t0 = Tracing ? Stopwatch.GetTimestamp() : 0;
        long job = ++_job;
        Volatile.Write(ref _epochLine[EpochAt], (job << 16) | (long)helpers);
        Interlocked.MemoryBarrier(); // the epoch store before the parked-flag reads (workers: flag store, then epoch read)
        for (int w = 1; w <= helpers; w++)
            if (Volatile.Read(ref _slots[w * Line + Line / 2]) != 0 && Interlocked.Exchange(ref _slots[w * Line + Line / 2], 0) == 1)
                _wake[w].Release();
        Work(0);
        long t1 = Tracing ? Stopwatch.GetTimestamp() : 0;
        int cancelled = WaitUntilDone(helpers, job, skipLate && CancelLate);
        if (cancelled > 0) SkippedHelpers += cancelled;
        if (Tracing) Record(t0, t1, helpers, cancelled, job);
        var error = _error;
        if (error is not null) _error = null;
        if (error is not null) throw KernelFailure(error);
    }

    /// <summary>All items on the calling thread as worker 0 (ids are unique per call, and this call has one thread).</summary>
    void RunInline(int count, IParallelWork work)
    {
        var outer = t_inside;
        t_inside = this;
        try
        {
            for (int i = 0; i < count; i++) work.Execute(i, 0);
        }
        catch (Exception e) when (e is not HepBnnException)
        {
            throw KernelFailure(e);
        }
        finally { t_inside = outer; }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    void Work(int worker)
    {
        var outer = t_inside;
        t_inside = this;
        try
        {
            int i;
            if (_region is { } region) region.Run(worker, _participants, worker);
            else if (_forSlices > 0) WorkSlices(worker);
            else while ((i = Interlocked.Increment(ref _next) - 1) < _count) _work!.Execute(i, worker);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            Interlocked.Exchange(ref _next, int.MaxValue / 2);
            _forFailed = true;
        }
        finally { t_inside = outer; }
    }

    /// <summary>Sliced For: the worker's own slice (slice q = worker q), then the items still unclaimed in the others, from
    /// the next slice on (so that thieves start on different slices). An exhausted slice's counter is only read. So no
    /// line is incremented by more than its owner until the owner is late, where one shared counter took 16 threads'
    /// increments per job (an empty 16-thread For on the Xeon host: 4.6–5.2 µs shared, 3.0–3.3 sliced, same process).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    void WorkSlices(int worker)
    {
        int slices = _forSlices;
        long job = SliceClaims.Tag(_job & 0x7FFFFFFF);
        if (worker < slices) DrainSlice(worker, slices, job, worker);
        for (int k = 1; k < slices && !_forFailed; k++)
        {
            int q = (worker + k) % slices;
            if (SliceClaims.Exhausted(ref _forClaims[(q + 1) * Line], job, SliceClaims.End(_count, q, slices))) continue;
            DrainSlice(q, slices, job, worker);
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    void DrainSlice(int q, int slices, long job, int worker)
    {
        int count = _count, end = SliceClaims.End(count, q, slices);
        ref long claim = ref _forClaims[(q + 1) * Line];
        SliceClaims.Arm(ref claim, job, SliceClaims.First(count, q, slices));
        var work = _work!;
        while (!_forFailed)
        {
            int u = SliceClaims.Take(ref claim);
            if (u >= end) break;
            work.Execute(u, worker);
        }
    }

    /// <summary>Waits for the helpers that started <paramref name="job"/>; those that have not started yet are told to skip
    /// it (when <paramref name="skipLate"/>): the caller calls this only when the job's work is all taken or done. Returns
    /// how many were skipped.</summary>
    int WaitUntilDone(int helpers, long job, bool skipLate)
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        int cancelled = 0;
        for (int w = 1; w <= helpers; w++)
        {
            if (Volatile.Read(ref _slots[w * Line]) == job) continue;
            if (skipLate)
            {
                // One CAS on the helper's start word decides: either it started (and we wait for it) or it never will.
                ref long start = ref _slots[w * Line + StartAt];
                long s = Volatile.Read(ref start);
                if (s != job && Interlocked.CompareExchange(ref start, -job, s) == s) { cancelled++; continue; }
            }
            while (Volatile.Read(ref _slots[w * Line]) != job)
            {
                if (Stopwatch.GetTimestamp() < deadline) { Thread.SpinWait(SpinIterations); continue; }
                Interlocked.Exchange(ref _callerBlocked, 1);
                lock (_doneGate)
                    while (Volatile.Read(ref _slots[w * Line]) != job) Monitor.Wait(_doneGate, 1);
                Volatile.Write(ref _callerBlocked, 0);
            }
        }
        return cancelled;
    }

    /// <summary>Whether worker <paramref name="worker"/> has started the current job (always true for the caller, worker
    /// 0). For a region's participants: one that has not started yet may never come (it is descheduled, or still waking),
    /// so the others take its share at once instead of waiting for it.
    /// (Always true when <see cref="SkipsLateHelpers"/> is off: then every participant is waited for anyway.)</summary>
    public bool HasStarted(int worker) => worker == 0 || !CancelLate || Volatile.Read(ref _slots[worker * Line + StartAt]) == Volatile.Read(ref _job);

    /// <summary>Whether worker <paramref name="worker"/> may run <paramref name="job"/>: false when the caller already
    /// finished it without this worker (see <see cref="WaitUntilDone"/>).
    /// <para>Refused too when a later job was cancelled for this worker (start word −J′, J′ &gt; job): a helper that read
    /// the epoch of job J and was descheduled before getting here can find that the caller finished J and then J + 1 (…)
    /// without it. Accepting J then (the old test was only s ≠ −job) ran a helper the caller never waits for, against the
    /// state of whatever job was current: a later For's claim counters re-armed under the stale job's tag, items run
    /// after For returned, and <c>_work</c> read as null between jobs ("a CPU kernel failed: Object reference not set…",
    /// seen once on the 16-vCPU Xeon host), or a region's participant run after the region returned.</para></summary>
    bool Begin(int worker, long job)
    {
        ref long start = ref _slots[worker * Line + StartAt];
        long s = Volatile.Read(ref start);
        // s: the last job started (positive, < job) or −(the last job cancelled); only job or later cancellations refuse
        return s > -job && Interlocked.CompareExchange(ref start, job, s) == s;
    }

    void Record(long t0, long t1, int helpers, int cancelled, long job)
    {
        long t2 = Stopwatch.GetTimestamp(), maxLag = 0, lastEnd = t1;
        for (int w = 1; w <= helpers; w++)
        {
            if (Volatile.Read(ref _slots[w * Line + StartAt]) != job) continue;
            maxLag = Math.Max(maxLag, _slots[w * Line + TraceStartAt] - t0);
            lastEnd = Math.Max(lastEnd, _slots[w * Line + TraceEndAt]);
        }
        Trace!.Add(t0, t1, t2, helpers, cancelled, maxLag, lastEnd - t1);
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    void WorkerLoop(int worker)
    {
        long seen = 0;
        while (true)
        {
            long epoch = WaitForJob(worker, seen);
            seen = epoch;
            if (_stopping) return;
            if (worker > (int)(epoch & 0xFFFF)) continue; // not a helper of this job
            if (BeforeBegin is { } hook) hook(worker, epoch >> 16); // tests only: widen the window before Begin
            if (!Begin(worker, epoch >> 16)) continue;      // the caller finished this job (or a later one) without us
            if (Tracing) _slots[worker * Line + TraceStartAt] = Stopwatch.GetTimestamp();
            Work(worker);
            if (Tracing) _slots[worker * Line + TraceEndAt] = Stopwatch.GetTimestamp();
            Volatile.Write(ref _slots[worker * Line], epoch >> 16);
            Interlocked.MemoryBarrier(); // the done store before reading whether the caller sleeps
            if (Volatile.Read(ref _callerBlocked) != 0)
                lock (_doneGate) Monitor.PulseAll(_doneGate);
        }
    }

    /// <summary>Waits for an epoch other than <paramref name="seen"/>: spins for <see cref="TightTicks"/> (yielding now
    /// and then, for oversubscribed machines), yields on every poll up to <see cref="HotTicks"/>, then parks: sets its
    /// parked flag and sleeps on its semaphore unless a job came meanwhile. The caller clears a set flag with an exchange
    /// and releases exactly then, so every release is consumed by exactly one wait.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    long WaitForJob(int worker, long seen)
    {
        long start = Stopwatch.GetTimestamp();
        // a yield every 256 pause iterations whatever the pauses per poll (the cadence of 64 polls × 4 measured before)
        int spin = SpinIterations, every = Math.Max(1, 256 / spin);
        long pure = PureSpinTicks;
        for (int i = 1; ; i++)
        {
            long e = Volatile.Read(ref _epochLine[EpochAt]);
            if (e != seen) return e;
            if (i >= every)
            {
                long waited = Stopwatch.GetTimestamp() - start;
                if (waited > HotTicks) break;
                i = waited > TightTicks ? every - 1 : 0; // past the tight phase: poll, yield, poll, yield …
                if (waited >= pure) Thread.Yield();
            }
            else Thread.SpinWait(spin);
        }
        ref long parked = ref _slots[worker * Line + Line / 2];
        Interlocked.Exchange(ref parked, 1);
        if (Volatile.Read(ref _epochLine[EpochAt]) != seen && Interlocked.Exchange(ref parked, 0) == 1)
            return Volatile.Read(ref _epochLine[EpochAt]); // a job came before anyone saw the flag: no release coming
        _wake[worker].Wait(); // released by a caller (or Dispose) that cleared the flag after publishing its epoch
        return Volatile.Read(ref _epochLine[EpochAt]);
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        Volatile.Write(ref _epochLine[EpochAt], ((_job + 1) << 16) | (long)_threads.Length);
        Interlocked.MemoryBarrier();
        for (int w = 1; w <= _threads.Length; w++)
            if (Interlocked.Exchange(ref _slots[w * Line + Line / 2], 0) == 1) _wake[w].Release();
        foreach (var t in _threads) t.Join();
        foreach (var s in _wake) s.Dispose();
    }
}

/// <summary>Timings of a worker pool's last jobs (HEPBNN_POOL_TRACE=1), in Stopwatch ticks: for each job the caller's
/// share of the work (publish → its own items done), the join (→ every started helper done), the helpers asked, those
/// skipped because they had not started when the work was done, the latest helper start after the publish, and how long
/// after the caller the last started helper finished. Written by the job's caller only (one job at a time).</summary>
public sealed class PoolTrace(int capacity)
{
    readonly long[] _data = new long[capacity * 6];
    long _count;

    public void Clear() => _count = 0;

    internal void Add(long publish, long callerDone, long joined, int helpers, int cancelled, long maxStartLag, long lastAfterCaller)
    {
        int i = (int)(_count++ % capacity) * 6;
        _data[i] = callerDone - publish; _data[i + 1] = joined - callerDone; _data[i + 2] = helpers;
        _data[i + 3] = cancelled; _data[i + 4] = maxStartLag; _data[i + 5] = lastAfterCaller;
    }

    /// <summary>The recorded jobs, oldest first: (work µs, join µs, helpers, skipped, latest start µs, last helper after the caller µs).</summary>
    public IReadOnlyList<(double WorkUs, double JoinUs, int Helpers, int Skipped, double LatestStartUs, double LastHelperUs)> Jobs()
    {
        int n = (int)Math.Min(_count, capacity);
        long first = _count - n;
        double Us(long t) => t * 1e6 / Stopwatch.Frequency;
        var list = new List<(double, double, int, int, double, double)>(n);
        for (long k = first; k < _count; k++)
        {
            int i = (int)(k % capacity) * 6;
            list.Add((Us(_data[i]), Us(_data[i + 1]), (int)_data[i + 2], (int)_data[i + 3], Us(_data[i + 4]), Us(_data[i + 5])));
        }
        return list;
    }
}
