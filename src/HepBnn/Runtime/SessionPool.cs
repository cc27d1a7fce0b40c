using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Runtime;

/// <summary>
/// Thread-safe inference for concurrent callers: <see cref="Count"/> sessions of one model and assignment; each
/// <see cref="Run(ReadOnlySpan{byte}, int, Span{int})"/> borrows an idle session (blocking while all are busy) and returns
/// it when done. (<see cref="InferenceSession"/> itself is not thread-safe: its activation buffers and runners serve one
/// call at a time.)
/// <para><b>Resources.</b> When every configuration of the assignment runs on the CPU, all sessions share one
/// <see cref="ExecutionResources"/> and so one <see cref="Devices.CpuWorkerPool"/> of <see cref="SessionOptions.CpuThreads"/>
/// threads: the multithreaded blocks (cpu.mt-*) of concurrent runs take turns on it (the machine is never oversubscribed),
/// while single-thread blocks (cpu.scalar, cpu.simd*) of different runs proceed in parallel on the callers' threads.
/// Assignments that use another device give each session its own resources (device streams are per session).</para>
/// <para>Steady-state <c>Run</c> with int scores allocates nothing. <see cref="Dispose"/> waits for runs in progress; runs
/// that start afterwards throw <see cref="ObjectDisposedException"/>.</para>
/// </summary>
public sealed class SessionPool : IDisposable
{
    readonly InferenceSession[] _sessions;
    readonly InferenceSession[] _idle;
    // One monitor guards the idle stack and the disposed flag: borrowers wait on it while every session is busy, and
    // Dispose wakes them all. (A SemaphoreSlim does not wake its waiters when disposed: callers blocked in Wait at
    // Dispose time hung forever.)
    readonly object _gate = new();
    readonly ExecutionResources? _shared;
    int _idleCount;
    bool _disposing;
    volatile bool _disposed;

    public BnnModel Model { get; }
    public int Count => _sessions.Length;
    public int MaxBatch => _sessions[0].MaxBatch;
    /// <summary>Scores per image (classes × output pixels), as <see cref="InferenceSession.ScoresPerImage"/>.</summary>
    public int ScoresPerImage => _sessions[0].ScoresPerImage;
    public IReadOnlyList<IKernelConfiguration> Assignment => _sessions[0].Assignment;
    /// <summary>True when the sessions share one set of execution resources (one CPU worker pool).</summary>
    public bool SharesResources => _shared is not null;

    /// <summary>Every block in the one configuration <paramref name="configuration"/>.</summary>
    public SessionPool(BnnModel model, string configuration, int sessions, SessionOptions? options = null)
        : this(model, Enumerable.Repeat(configuration, BlockCompiler.Compile(model).Count).ToArray(), sessions, options) { }

    public SessionPool(BnnModel model, IReadOnlyList<string> configurationPerBlock, int sessions, SessionOptions? options = null)
    {
        if (sessions < 1 || sessions > 1024) throw new HepBnnException($"session count {sessions} out of range 1..1024");
        options ??= new SessionOptions();
        var blocks = BlockCompiler.Compile(model);
        var assignment = configurationPerBlock.Select(ConfigurationRegistry.Find).ToArray();
        Model = model;
        _sessions = new InferenceSession[sessions];
        _idle = new InferenceSession[sessions];
        try
        {
            if (assignment.All(c => c.Device == DeviceKind.Cpu)) _shared = new ExecutionResources(options.CpuThreads);
            for (int i = 0; i < sessions; i++)
                _sessions[i] = new InferenceSession(model, blocks, assignment, options, _shared);
        }
        catch
        {
            foreach (var s in _sessions) s?.Dispose();
            _shared?.Dispose();
            throw;
        }
        _sessions.CopyTo(_idle, 0);
        _idleCount = sessions;
    }

    /// <summary>As <see cref="InferenceSession.Run(ReadOnlySpan{byte}, int, Span{int})"/>, on a borrowed session.</summary>
    public void Run(ReadOnlySpan<byte> images, int batch, Span<int> rawScores)
    {
        var session = Borrow();
        try { session.Run(images, batch, rawScores); }
        finally { Return(session); }
    }

    /// <summary>As <see cref="InferenceSession.Run(ReadOnlySpan{byte}, int, Span{double})"/>, on a borrowed session.</summary>
    public void Run(ReadOnlySpan<byte> images, int batch, Span<double> scores)
    {
        var session = Borrow();
        try { session.Run(images, batch, scores); }
        finally { Return(session); }
    }

    public int[] Predict(ReadOnlySpan<byte> images, int batch)
    {
        var session = Borrow();
        try { return session.Predict(images, batch); }
        finally { Return(session); }
    }

    InferenceSession Borrow()
    {
        lock (_gate)
        {
            while (true)
            {
                if (_disposing) throw new ObjectDisposedException(nameof(SessionPool));
                if (_idleCount > 0) return _idle[--_idleCount];
                Monitor.Wait(_gate);
            }
        }
    }

    void Return(InferenceSession session)
    {
        lock (_gate)
        {
            _idle[_idleCount++] = session;
            // while disposing, Dispose itself waits on the gate for the last session: wake everyone
            if (_disposing) Monitor.PulseAll(_gate);
            else Monitor.Pulse(_gate);
        }
    }

    /// <summary>Refuses new runs at once (callers waiting for a session get <see cref="ObjectDisposedException"/>), waits
    /// for the runs in progress to return their sessions, then releases every session. Safe to call from several threads.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposing)
            {
                while (!_disposed) Monitor.Wait(_gate); // another thread is disposing: return when it is done
                return;
            }
            _disposing = true;
            Monitor.PulseAll(_gate);
            while (_idleCount < _sessions.Length) Monitor.Wait(_gate); // every in-flight run has returned its session
        }
        try
        {
            foreach (var s in _sessions) s.Dispose();
            _shared?.Dispose();
        }
        finally
        {
            lock (_gate) { _disposed = true; Monitor.PulseAll(_gate); }
        }
    }
}
