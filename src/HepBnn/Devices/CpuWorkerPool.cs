namespace HepBnn.Devices;

/// <summary>A unit of parallel work: Execute(i) for i in [0, count). Runners keep one instance, so dispatch allocates nothing.</summary>
public interface IParallelWork
{
    void Execute(int index);
}

/// <summary>A fixed set of worker threads created once (per session). <see cref="For"/> hands out indices dynamically
/// and the calling thread works too; returns when every index is done. Calls are serialized.</summary>
public sealed class CpuWorkerPool : IDisposable
{
    readonly Thread[] _threads;
    readonly SemaphoreSlim _start;
    readonly ManualResetEventSlim _done = new(false);
    readonly object _gate = new();
    IParallelWork? _work;
    int _count, _next, _active;
    volatile bool _stopping;
    Exception? _error;

    public int Threads => _threads.Length + 1;

    public CpuWorkerPool(int threads)
    {
        threads = Math.Max(1, threads);
        _start = new SemaphoreSlim(0);
        _threads = new Thread[threads - 1];
        for (int i = 0; i < _threads.Length; i++)
        {
            _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"hepbnn-cpu-{i}" };
            _threads[i].Start();
        }
    }

    public void For(int count, IParallelWork work)
    {
        if (count <= 0) return;
        if (count == 1 || _threads.Length == 0)
        {
            for (int i = 0; i < count; i++) work.Execute(i);
            return;
        }
        lock (_gate)
        {
            _work = work; _count = count; _next = 0; _error = null;
            int helpers = Math.Min(_threads.Length, count - 1);
            _active = helpers + 1;
            _done.Reset();
            _start.Release(helpers);
            Drain();
            _done.Wait();
            _work = null;
            if (_error is not null) throw new HepBnnException("a CPU kernel failed: " + _error.Message, _error);
        }
    }

    void Drain()
    {
        try
        {
            int i;
            while ((i = Interlocked.Increment(ref _next) - 1) < _count) _work!.Execute(i);
        }
        catch (Exception e) { _error ??= e; Interlocked.Exchange(ref _next, int.MaxValue / 2); }
        if (Interlocked.Decrement(ref _active) == 0) _done.Set();
    }

    void WorkerLoop()
    {
        while (true)
        {
            _start.Wait();
            if (_stopping) return;
            Drain();
        }
    }

    public void Dispose()
    {
        _stopping = true;
        if (_threads.Length > 0) _start.Release(_threads.Length); // a pool of one thread has no workers to wake
        foreach (var t in _threads) t.Join();
        _start.Dispose();
        _done.Dispose();
    }
}
