using HepBnn.Devices;
using HepBnn.Ops;

namespace HepBnn.Runtime;

/// <summary>
/// Consecutive GPU blocks of a plan with their way in and out: the input copied host→device, one launch per block, the
/// output copied device→host, all queued on the session stream; the host then waits once. With graphs on, the whole
/// segment is captured once per batch as a <see cref="CudaGraph"/> and replayed with one driver call; the graphs of the
/// last <see cref="MaxGraphs"/> batches are kept. Eager and graph runs queue exactly the same work, so results are
/// bit-identical. A failed capture turns graphs off for this segment for good and records why (no exception: eager launches
/// are always correct, only slower).
/// </summary>
internal sealed class GpuSegment : IDisposable
{
    /// <summary>Graphs kept per segment (one per batch seen); the oldest is destroyed beyond this.</summary>
    public const int MaxGraphs = 8;

    readonly GpuDevice _gpu;
    readonly IBlockRunner[] _runners;
    readonly HostBuffer _hostIn;
    readonly GpuBuffer _deviceIn;
    readonly GpuBuffer[] _outputs;
    readonly HostBuffer _hostOut;
    readonly Func<int, long> _inWords, _outWords;
    readonly bool _dependentLaunch;
    readonly GpuWait _wait;
    GpuBuffer? _mappedIn, _mappedOut;
    readonly int[] _batches = new int[MaxGraphs];
    readonly CudaGraph?[] _graphs = new CudaGraph?[MaxGraphs];
    readonly bool[] _gatedSlot = new bool[MaxGraphs];
    GpuLaunchGate? _gate;
    CudaGraph? _gatedLaunch; // the gated graph launched last, until FinishGated waits for it
    bool _gateTried;
    int _nextSlot;
    bool _held;

    public int First { get; }
    public int Last { get; }
    /// <summary>Null while graphs are used (or not yet tried); otherwise why this segment runs eagerly.</summary>
    public string? EagerReason { get; private set; }
    public int GraphCount => _graphs.Count(g => g is not null);
    /// <summary>Programmatic kernel→kernel edges in the graph captured last (0 with dependent launch off or unavailable).</summary>
    public int ProgrammaticEdges { get; private set; }
    /// <summary>Why dependent launch was asked for but the last graph has no programmatic edges (null otherwise).</summary>
    public string? DependentLaunchProblem { get; private set; }
    /// <summary>How the segment's input and output cross to the host (<see cref="GpuHostIo.Copies"/> unless mapped I/O was
    /// asked for and works here).</summary>
    public GpuHostIo HostIo => _mappedIn is not null ? GpuHostIo.Mapped : _mappedOut is not null ? GpuHostIo.MappedOutput : GpuHostIo.Copies;
    /// <summary>How the host waits for this segment's graphs (the last captured one's; <see cref="GpuWait.Sync"/> where a
    /// graph could not use what was asked for, or before the first capture).</summary>
    public GpuWait Wait { get; private set; } = GpuWait.Sync;
    /// <summary>Why the graphs wait with the driver's synchronize although another way was asked for (null otherwise).</summary>
    public string? WaitProblem { get; private set; }
    /// <summary>Why mapped host I/O was asked for but is not used (null otherwise).</summary>
    public string? HostIoProblem { get; private set; }
    /// <summary>Whether a gated graph (launched before the input is staged, see <see cref="TryLaunchGated"/>) was captured.</summary>
    public bool Gated
    {
        get
        {
            for (int i = 0; i < MaxGraphs; i++)
                if (_gatedSlot[i] && _graphs[i] is not null) return true;
            return false;
        }
    }
    /// <summary>Why a gated launch was asked for but cannot be used (null otherwise).</summary>
    public string? GateProblem { get; private set; }

    /// <param name="runners">blocks First..Last in order (a fused range is one runner for several blocks); <paramref name="outputs"/>
    /// their output buffers on the GPU.</param>
    public GpuSegment(GpuDevice gpu, int first, int last, IBlockRunner[] runners, HostBuffer hostIn, GpuBuffer deviceIn, GpuBuffer[] outputs,
        HostBuffer hostOut, Func<int, long> inWords, Func<int, long> outWords, bool graphs, bool dependentLaunch, GpuHostIo hostIo = GpuHostIo.Copies,
        GpuWait? wait = null)
    {
        _dependentLaunch = dependentLaunch;
        _wait = wait ?? EnvironmentSwitches.GpuWait;
        _gpu = gpu; First = first; Last = last;
        _runners = runners; _hostIn = hostIn; _deviceIn = deviceIn; _outputs = outputs; _hostOut = hostOut;
        _inWords = inWords; _outWords = outWords;
        EagerReason = graphs ? CudaGraph.Unsupported(gpu) : "off (SessionOptions.CudaGraphs or HEPBNN_CUDA_GRAPHS=0)";
        if (EagerReason is null)
        {
            // Graph memcpy nodes keep the host addresses: the staging buffers must stay page-locked while graphs exist.
            bool locked = gpu.PageLocks.Hold(hostIn.Data) & gpu.PageLocks.Hold(hostOut.Data);
            _held = true;
            if (!locked) EagerReason = "the driver refused to page-lock the host staging buffers (copies would not be capturable)";
        }
        if (hostIo != GpuHostIo.Copies) MapHostIo(hostIo);
    }

    /// <summary>Kernels address the page-locked host buffers directly: the last block writes the output there (no D2H
    /// node) and, with <see cref="GpuHostIo.Mapped"/>, the first block reads its input there (no H2D node). The buffers
    /// are held page-locked for the segment's life (as for graphs).</summary>
    void MapHostIo(GpuHostIo hostIo)
    {
        HostIoProblem = GpuHostIoSwitch.Unsupported(_gpu);
        if (HostIoProblem is not null) return;
        if (!_held)
        {
            bool locked = _gpu.PageLocks.Hold(_hostIn.Data) & _gpu.PageLocks.Hold(_hostOut.Data);
            _held = true;
            if (!locked) { HostIoProblem = "the driver refused to page-lock the host staging buffers"; return; }
        }
        if (_gpu.PageLocks.ViewOf(_hostOut.Data) is not { } output || _gpu.PageLocks.ViewOf(_hostIn.Data) is not { } input)
        {
            HostIoProblem = "the host staging buffers are not page-locked";
            return;
        }
        _mappedOut = new GpuBuffer(_gpu, output);
        if (hostIo == GpuHostIo.Mapped) _mappedIn = new GpuBuffer(_gpu, input);
    }

    /// <summary>Runs the segment for <paramref name="batch"/> samples and waits for it: the input is read from the host
    /// staging buffer and the output is in the host output buffer on return.</summary>
    public void Run(int batch)
    {
        if (EagerReason is null && GraphFor(batch) is { } graph)
        {
            try { graph.Launch(); }
            catch (GpuUnavailableException e)
            {
                EagerReason = e.Message;
                DestroyGraphs();
                RunEagerly(batch);
                return;
            }
            HostPathTiming.Mark(HostPathTiming.Phase.Launched);
            graph.WaitForCompletion();
            HostPathTiming.Mark(HostPathTiming.Phase.Completed);
        }
        else RunEagerly(batch);
    }

    void RunEagerly(int batch)
    {
        Enqueue(batch);
        HostPathTiming.Mark(HostPathTiming.Phase.Launched);
        _gpu.Synchronize();
        HostPathTiming.Mark(HostPathTiming.Phase.Completed);
    }

    /// <summary>Launches this segment's graph for <paramref name="batch"/> before its input is in the host staging buffer:
    /// the graph first waits on the GPU for the segment's <see cref="GpuLaunchGate"/>, so the launch overlaps the caller's
    /// staging copy. True when launched: the caller then writes the input and MUST call <see cref="FinishGated"/> (also when
    /// writing fails). False (nothing queued) where graphs or the gate cannot be used: the caller stages and calls
    /// <see cref="Run"/> as usual.</summary>
    public bool TryLaunchGated(int batch)
    {
        if (EagerReason is not null) return false;
        if (!_gateTried)
        {
            _gateTried = true;
            _gate = GpuLaunchGate.TryCreate(_gpu, out var problem);
            GateProblem = problem;
        }
        if (_gate is null || GatedGraphFor(batch) is not { } graph) return false;
        try { graph.Launch(); }
        catch (GpuUnavailableException e) { EagerReason = e.Message; DestroyGraphs(); return false; }
        _gatedLaunch = graph;
        HostPathTiming.Mark(HostPathTiming.Phase.Launched);
        return true;
    }

    /// <summary>Opens the gate of a run started by <see cref="TryLaunchGated"/> (the input is staged) and waits for the run;
    /// the output is in the host output buffer on return. The gate is closed again for the next launch.</summary>
    public void FinishGated()
    {
        _gate!.Open();
        try { _gatedLaunch!.WaitForCompletion(); }
        finally { _gate.Close(); _gatedLaunch = null; }
        HostPathTiming.Mark(HostPathTiming.Phase.Completed);
    }

    /// <summary>The work of one run, queued on the stream (what a graph captures); a gated graph starts with the gate's wait.</summary>
    void Enqueue(int batch, bool gated = false)
    {
        if (gated) _gate!.EnqueueWait();
        TensorBuffer current = _mappedIn ?? _deviceIn;
        if (_mappedIn is null) GpuTransfers.ToDevice(_gpu, _hostIn, _deviceIn, _inWords(batch));
        for (int i = 0; i < _runners.Length; i++)
        {
            var output = i == _runners.Length - 1 && _mappedOut is not null ? _mappedOut : _outputs[i];
            _runners[i].Run(current, output, batch);
            current = output;
        }
        if (_mappedOut is null) GpuTransfers.ToHostAsync(_gpu, _outputs[^1], _hostOut, _outWords(batch));
    }

    CudaGraph? GraphFor(int batch)
    {
        for (int i = 0; i < MaxGraphs; i++)
            if (_graphs[i] is { } g && _batches[i] == batch && !_gatedSlot[i]) return g;
        return Capture(batch);
    }

    CudaGraph? GatedGraphFor(int batch)
    {
        for (int i = 0; i < MaxGraphs; i++)
            if (_graphs[i] is { } g && _batches[i] == batch && _gatedSlot[i]) return g;
        return CaptureGated(batch);
    }

    /// <summary>Captures the gated graph of <paramref name="batch"/>; where that fails the gate is dropped for good (with
    /// <see cref="GateProblem"/>) and the segment runs its plain graphs as before.</summary>
    CudaGraph? CaptureGated(int batch)
    {
        var captured = CudaGraph.TryCapture(_gpu, () => Enqueue(batch, gated: true), out var problem, _dependentLaunch, _wait);
        if (captured is null)
        {
            GateProblem = $"capture with the launch gate failed, launching after the copy: {problem}";
            _gate?.Dispose();
            _gate = null;
            return null;
        }
        Keep(captured, batch, gated: true);
        return captured;
    }

    /// <summary>Separate from <see cref="GraphFor"/> so that the closure is allocated only when a batch is captured.</summary>
    CudaGraph? Capture(int batch)
    {
        var captured = CudaGraph.TryCapture(_gpu, () => Enqueue(batch), out var problem, _dependentLaunch, _wait);
        if (captured is null && HostIo != GpuHostIo.Copies)
        {
            HostIoProblem = $"capture with mapped host I/O failed, copies instead: {problem}";
            _mappedIn = _mappedOut = null;
            captured = CudaGraph.TryCapture(_gpu, () => Enqueue(batch), out problem, _dependentLaunch, _wait);
        }
        if (captured is null)
        {
            EagerReason = $"CUDA graph capture failed, running eagerly: {problem}";
            return null;
        }
        Keep(captured, batch, gated: false);
        return captured;
    }

    void Keep(CudaGraph captured, int batch, bool gated)
    {
        ProgrammaticEdges = captured.ProgrammaticEdges;
        DependentLaunchProblem = captured.DependentLaunchProblem;
        Wait = captured.Wait;
        WaitProblem = captured.WaitProblem;
        int slot = _nextSlot;
        _nextSlot = (_nextSlot + 1) % MaxGraphs;
        _graphs[slot]?.Dispose();
        _graphs[slot] = captured;
        _batches[slot] = batch;
        _gatedSlot[slot] = gated;
    }

    void DestroyGraphs()
    {
        for (int i = 0; i < MaxGraphs; i++) { _graphs[i]?.Dispose(); _graphs[i] = null; }
    }

    public void Dispose()
    {
        DestroyGraphs();
        _gate?.Dispose();
        _gate = null;
        if (_held)
        {
            _held = false;
            _gpu.PageLocks.Unhold(_hostIn.Data);
            _gpu.PageLocks.Unhold(_hostOut.Data);
        }
    }
}
