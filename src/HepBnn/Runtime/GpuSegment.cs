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
    readonly int[] _batches = new int[MaxGraphs];
    readonly CudaGraph?[] _graphs = new CudaGraph?[MaxGraphs];
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

    /// <param name="runners">blocks First..Last in order (a fused range is one runner for several blocks); <paramref name="outputs"/>
    /// their output buffers on the GPU.</param>
    public GpuSegment(GpuDevice gpu, int first, int last, IBlockRunner[] runners, HostBuffer hostIn, GpuBuffer deviceIn, GpuBuffer[] outputs,
        HostBuffer hostOut, Func<int, long> inWords, Func<int, long> outWords, bool graphs, bool dependentLaunch)
    {
        _dependentLaunch = dependentLaunch;
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
    }

    /// <summary>Runs the segment for <paramref name="batch"/> samples and waits for it: the input is read from the host
    /// staging buffer and the output is in the host output buffer on return.</summary>
    public void Run(int batch)
    {
        if (EagerReason is null && GraphFor(batch) is { } graph)
        {
            try { graph.Launch(); }
            catch (GpuUnavailableException e) { EagerReason = e.Message; DestroyGraphs(); Enqueue(batch); }
        }
        else Enqueue(batch);
        _gpu.Synchronize();
    }

    /// <summary>The work of one run, queued on the stream (what a graph captures).</summary>
    void Enqueue(int batch)
    {
        GpuTransfers.ToDevice(_gpu, _hostIn, _deviceIn, _inWords(batch));
        TensorBuffer current = _deviceIn;
        for (int i = 0; i < _runners.Length; i++)
        {
            _runners[i].Run(current, _outputs[i], batch);
            current = _outputs[i];
        }
        GpuTransfers.ToHostAsync(_gpu, _outputs[^1], _hostOut, _outWords(batch));
    }

    CudaGraph? GraphFor(int batch)
    {
        for (int i = 0; i < MaxGraphs; i++)
            if (_graphs[i] is { } g && _batches[i] == batch) return g;
        return Capture(batch);
    }

    /// <summary>Separate from <see cref="GraphFor"/> so that the closure is allocated only when a batch is captured.</summary>
    CudaGraph? Capture(int batch)
    {
        var captured = CudaGraph.TryCapture(_gpu, () => Enqueue(batch), out var problem, _dependentLaunch);
        if (captured is null)
        {
            EagerReason = $"CUDA graph capture failed, running eagerly: {problem}";
            return null;
        }
        ProgrammaticEdges = captured.ProgrammaticEdges;
        DependentLaunchProblem = captured.DependentLaunchProblem;
        int slot = _nextSlot;
        _nextSlot = (_nextSlot + 1) % MaxGraphs;
        _graphs[slot]?.Dispose();
        _graphs[slot] = captured;
        _batches[slot] = batch;
        return captured;
    }

    void DestroyGraphs()
    {
        for (int i = 0; i < MaxGraphs; i++) { _graphs[i]?.Dispose(); _graphs[i] = null; }
    }

    public void Dispose()
    {
        DestroyGraphs();
        if (_held)
        {
            _held = false;
            _gpu.PageLocks.Unhold(_hostIn.Data);
            _gpu.PageLocks.Unhold(_hostOut.Data);
        }
    }
}
