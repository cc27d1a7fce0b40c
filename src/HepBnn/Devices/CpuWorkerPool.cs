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
}

/// <summary>A fixed set of worker threads created once (per session or shared by a <see cref="Runtime.SessionPool"/>).
/// <see cref="For"/> hands out indices dynamically and the calling thread works too; returns when every index is done.
/// <para>Thread safety: <see cref="For"/> may be called from several threads. One call at a time owns the workers; a
/// call that finds them busy runs its items inline on its own thread (its core does the work instead of waiting for a
/// hand-off), so concurrent sessions never queue behind each other. A call from inside a work item of this pool
/// (nesting) also runs inline instead of deadlocking. Work items must not block on another thread's use of the pool.
/// The first exception of a work item stops handing out indices and is rethrown from For as a
/// <see cref="HepBnnException"/> (inner exception attached); the pool stays usable. Dispose must not race with For.</para></summary>
public sealed class CpuWorkerPool : IDisposable
{
    readonly Thread[] _threads;
    readonly SemaphoreSlim _start;
    /// <summary>Completion signal for a caller that stops spinning: a plain monitor pulsed when <c>_active</c> reaches 0
    /// (ManualResetEventSlim allocates its lock on the first blocking wait, breaking allocation-free inference). The
    /// waiter re-checks <c>_active</c>, so a late pulse from the previous loop cannot end the current one early.</summary>
    readonly object _doneGate = new();
    readonly object _gate = new();
    IParallelWork? _work;
    int _count, _next, _active;
    IRegionWork? _region; // set during Region: each thread takes one index (its participant number) instead of draining items
    volatile bool _stopping;
    Exception? _error;
    /// <summary>The pool whose work the current thread is executing (nesting detection).</summary>
    [ThreadStatic] static CpuWorkerPool? t_inside;
    /// <summary>How long an idle worker (or the caller waiting for the last items) spins before blocking: the next
    /// parallel block of an inference usually follows within microseconds, and waking a blocked thread costs tens.</summary>
    static readonly long SpinTicks = Stopwatch.Frequency / 20_000; // 50 µs

    public int Threads => _threads.Length + 1;

    public CpuWorkerPool(int threads)
    {
        threads = Math.Max(1, threads);
        _start = new SemaphoreSlim(0);
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            int worker = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(worker)) { IsBackground = true, Name = $"hepbnn-cpu-{i}" };
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
            _work = work; _count = count; _next = 0; _error = null;
            int helpers = Math.Min(Math.Min(_threads.Length, maxThreads - 1), count - 1);
            _active = helpers + 1;
            _start.Release(helpers);
            Drain(0);
            WaitUntilDone();
            _work = null;
            var error = _error;
            _error = null;
            if (error is not null) throw new HepBnnException("a CPU kernel failed: " + error.Message, error);
        }
        finally { Monitor.Exit(_gate); }
    }

    /// <summary>A parallel region: <paramref name="work"/>.Run(participant, P, worker) runs exactly once for each
    /// participant in [0, P), each on its own thread (the caller is one of them), so that participants may wait for each
    /// other (a barrier) inside. P is at most <paramref name="maxThreads"/>, and 1 where
    /// <see cref="For(int, IParallelWork, int)"/> would run inline (nesting, or the workers serving another caller).
    /// A participant that fails must not leave the others waiting: the work's barrier has to give up when one fails.</summary>
    public void Region(int maxThreads, IRegionWork work)
    {
        if (maxThreads <= 1 || _threads.Length == 0 || t_inside == this || !Monitor.TryEnter(_gate))
        {
            var outer = t_inside;
            t_inside = this;
            try { work.Run(0, 1, 0); }
            catch (Exception e) when (e is not HepBnnException) { throw new HepBnnException("a CPU kernel failed: " + e.Message, e); }
            finally { t_inside = outer; }
            return;
        }
        try
        {
            int helpers = Math.Min(_threads.Length, maxThreads - 1);
            _region = work; _count = helpers + 1; _next = 0; _error = null;
            _active = helpers + 1;
            _start.Release(helpers);
            Drain(0);
            WaitUntilDone();
            _region = null;
            var error = _error;
            _error = null;
            if (error is not null) throw new HepBnnException("a CPU kernel failed: " + error.Message, error);
        }
        finally { Monitor.Exit(_gate); }
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
            throw new HepBnnException("a CPU kernel failed: " + e.Message, e);
        }
        finally { t_inside = outer; }
    }

    void Drain(int worker)
    {
        var outer = t_inside;
        t_inside = this;
        try
        {
            int i;
            if (_region is { } region) { if ((i = Interlocked.Increment(ref _next) - 1) < _count) region.Run(i, _count, worker); }
            else while ((i = Interlocked.Increment(ref _next) - 1) < _count) _work!.Execute(i, worker);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            Interlocked.Exchange(ref _next, int.MaxValue / 2);
        }
        finally { t_inside = outer; }
        if (Interlocked.Decrement(ref _active) == 0)
            lock (_doneGate) Monitor.PulseAll(_doneGate);
    }

    void WaitUntilDone()
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (Volatile.Read(ref _active) != 0)
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                lock (_doneGate) while (Volatile.Read(ref _active) != 0) Monitor.Wait(_doneGate);
                return;
            }
            Pause();
        }
    }

    /// <summary>One spin step; yields the core when other threads are runnable (an oversubscribed machine).</summary>
    static void Pause()
    {
        Thread.SpinWait(20);
        Thread.Yield();
    }

    void WorkerLoop(int worker)
    {
        while (true)
        {
            WaitForWork();
            if (_stopping) return;
            Drain(worker);
        }
    }

    /// <summary>Takes one start permit: spinning briefly (cheap to hand over) before blocking.</summary>
    void WaitForWork()
    {
        long deadline = Stopwatch.GetTimestamp() + SpinTicks;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (_start.CurrentCount > 0 && _start.Wait(0)) return;
            Pause();
        }
        _start.Wait();
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        if (_threads.Length > 0) _start.Release(_threads.Length); // a pool of one thread has no workers to wake
        foreach (var t in _threads) t.Join();
        _start.Dispose();
    }
}
