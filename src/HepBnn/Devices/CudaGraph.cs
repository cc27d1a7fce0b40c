using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>
/// A CUDA graph captured from the session stream: everything <see cref="TryCapture"/>'s action queues on
/// <see cref="GpuDevice.Stream"/> (ILGPU launches, page-locked async copies) becomes one graph, replayed by
/// <see cref="Launch"/> with a single driver call instead of one launch per kernel and copy. The driver API comes
/// straight from libcuda (ILGPU 1.5.3 does not wrap graphs); every entry point is looked up once and a missing one makes
/// capture unavailable with a reason, never an exception. Addresses and launch sizes are baked into the graph: it is valid
/// only while the buffers it touches live and only for the batch it was captured at.
/// </summary>
public sealed unsafe class CudaGraph : IDisposable
{
    const int Success = 0;
    const int CaptureModeThreadLocal = 1; // unsafe calls (allocation, synchronization) on this thread invalidate the capture

    readonly GpuDevice _gpu;
    IntPtr _exec;
    MappedHostWord? _done;

    CudaGraph(GpuDevice gpu, IntPtr exec, GpuWait wait, MappedHostWord? done) { _gpu = gpu; _exec = exec; Wait = wait; _done = done; }

    /// <summary>How <see cref="WaitForCompletion"/> waits for this graph (a <see cref="GpuWait.Word"/> graph ends with the
    /// signal kernel that sets its completion word).</summary>
    public GpuWait Wait { get; }

    /// <summary>Null when graphs can be used on <paramref name="gpu"/>; otherwise why not.</summary>
    public static string? Unsupported(GpuDevice gpu) =>
        !gpu.IsCuda ? "the GPU is ILGPU's CPU accelerator (CUDA graphs need a CUDA device)" : Driver.Problem;

    /// <summary>Captures what <paramref name="enqueue"/> queues on the session stream. Null with <paramref name="problem"/>
    /// when capture is unsupported or any step fails; the stream is then out of capture mode again and none of the queued
    /// work has run (the caller runs it eagerly). With <paramref name="dependentLaunch"/> (default: the device's
    /// <see cref="GpuDevice.DependentLaunch"/>) each kernel→kernel edge whose later kernel begins with
    /// <see cref="GpuDependentLaunch.Wait"/> becomes programmatic (<see cref="ProgrammaticEdges"/>); where the driver cannot,
    /// the graph keeps its plain edges and <see cref="DependentLaunchProblem"/> says why. <paramref name="wait"/> (default:
    /// HEPBNN_GPU_WAIT) is how <see cref="Run"/> waits; where it cannot be used here the graph waits with the driver's
    /// synchronize and <see cref="WaitProblem"/> says why.</summary>
    public static CudaGraph? TryCapture(GpuDevice gpu, Action enqueue, out string? problem, bool? dependentLaunch = null, GpuWait? wait = null)
    {
        problem = Unsupported(gpu);
        if (problem is not null) return null;
        var stream = ((CudaStream)gpu.Stream).StreamPtr;
        IntPtr graph = IntPtr.Zero, exec = IntPtr.Zero;
        var how = wait ?? EnvironmentSwitches.GpuWait;
        string? waitProblem = GpuCompletion.Unsupported(gpu, how);
        MappedHostWord? done = null;
        if (waitProblem is null && how == GpuWait.Word) done = MappedHostWord.TryCreate(gpu, "the completion word", out waitProblem);
        if (waitProblem is not null) how = GpuWait.Sync;
        try
        {
            gpu.Accelerator.Bind();
            int rc = Driver.BeginCapture(stream, CaptureModeThreadLocal);
            if (rc != Success) { problem = $"cuStreamBeginCapture failed (CUresult {rc})"; return null; }
            string? during = null;
            try
            {
                enqueue();
                if (done is not null) GpuCompletion.EnqueueSignal(gpu, done);
            }
            catch (Exception e) { during = $"queueing work while capturing failed: {GpuDetection.Describe(e)}"; }
            rc = Driver.EndCapture(stream, &graph);
            if (during is not null) { problem = during; return null; }
            if (rc != Success || graph == IntPtr.Zero) { problem = $"cuStreamEndCapture failed (CUresult {rc})"; return null; }
            int programmatic = 0;
            string? pdlProblem = null;
            if (dependentLaunch ?? gpu.DependentLaunch)
            {
                pdlProblem = ProgrammaticEdgesProblem(gpu);
                if (pdlProblem is null && !CudaGraphEdges.Convert(gpu, graph, out programmatic, out pdlProblem))
                {
                    problem = pdlProblem; // the graph lost edges it could not get back: not usable
                    return null;
                }
            }
            rc = Driver.Instantiate(&exec, graph, 0);
            if (rc != Success) { problem = $"cuGraphInstantiateWithFlags failed (CUresult {rc})"; return null; }
            var result = new CudaGraph(gpu, exec, how, done) { ProgrammaticEdges = programmatic, DependentLaunchProblem = pdlProblem, WaitProblem = waitProblem };
            exec = IntPtr.Zero;
            done = null;
            return result;
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e))
        {
            problem = $"CUDA graph capture failed: {GpuDetection.Describe(e)}";
            return null;
        }
        finally
        {
            done?.Dispose(); // only when no graph took it
            if (exec != IntPtr.Zero) Driver.ExecDestroy(exec);
            if (graph != IntPtr.Zero) Driver.GraphDestroy(graph); // the instantiated graph does not need it
        }
    }

    /// <summary>Kernel→kernel edges of this graph that are programmatic (the later kernel may start before the earlier ends).</summary>
    public int ProgrammaticEdges { get; private init; }

    /// <summary>Why a graph captured with dependent launch asked for has no programmatic edges (null when it has them or
    /// none was asked for).</summary>
    public string? DependentLaunchProblem { get; private init; }

    /// <summary>Null when graphs on <paramref name="gpu"/> can have programmatic edges; otherwise why not (one message).</summary>
    public static string? ProgrammaticEdgesProblem(GpuDevice gpu) =>
        Unsupported(gpu) ?? (GpuDependentLaunch.KernelsWait ? CudaGraphEdges.Problem : $"programmatic dependent launch unavailable: {GpuDependentLaunch.Reason}");

    /// <summary>Why the graph waits with the driver's synchronize although another <see cref="GpuWait"/> was asked for (null otherwise).</summary>
    public string? WaitProblem { get; private init; }

    /// <summary>Launches the graph and waits for it (<see cref="Launch"/>, then <see cref="WaitForCompletion"/>).</summary>
    public void Run()
    {
        Launch();
        WaitForCompletion();
    }

    /// <summary>Waits for the last <see cref="Launch"/> of this graph (and everything queued before it) as <see cref="Wait"/>
    /// says; a device fault is a <see cref="GpuUnavailableException"/> as with any wait.</summary>
    public void WaitForCompletion() => GpuCompletion.Wait(_gpu, Wait, _done);

    /// <summary>Queues the whole graph on the session stream (asynchronous; the caller then calls <see cref="WaitForCompletion"/>).</summary>
    public void Launch()
    {
        ObjectDisposedException.ThrowIf(_exec == IntPtr.Zero, this);
        // The word is only read by the host and set by this launch's last node: the previous launch has completed (its
        // wait returned), so nothing writes it now.
        _done?.Write(0);
        _gpu.Accelerator.Bind();
        int rc = Driver.Launch(_exec, ((CudaStream)_gpu.Stream).StreamPtr);
        if (rc != Success) throw new GpuUnavailableException($"cuGraphLaunch failed on {_gpu.Description} (CUresult {rc})");
    }

    public void Dispose()
    {
        if (_exec == IntPtr.Zero) return;
        try { _gpu.Accelerator.Bind(); Driver.ExecDestroy(_exec); }
        catch (Exception) { /* a failed device still lets the session release everything else */ }
        _exec = IntPtr.Zero;
        _done?.Dispose();
        _done = null;
    }

    /// <summary>The six driver entry points, resolved from libcuda once.</summary>
    static class Driver
    {
        public static readonly string? Problem;
        static readonly delegate* unmanaged<IntPtr, int, int> _begin;
        static readonly delegate* unmanaged<IntPtr, IntPtr*, int> _end;
        static readonly delegate* unmanaged<IntPtr*, IntPtr, ulong, int> _instantiate;
        static readonly delegate* unmanaged<IntPtr, IntPtr, int> _launch;
        static readonly delegate* unmanaged<IntPtr, int> _execDestroy;
        static readonly delegate* unmanaged<IntPtr, int> _graphDestroy;

        static Driver()
        {
            if (CudaDriverLibrary.Problem is { } missing) { Problem = missing; return; }
            string name = CudaDriverLibrary.Name;
            static IntPtr Get(string symbol) => CudaDriverLibrary.Export(symbol);
            IntPtr begin = Get("cuStreamBeginCapture_v2"), end = Get("cuStreamEndCapture"), inst = Get("cuGraphInstantiateWithFlags"),
                launch = Get("cuGraphLaunch"), execDestroy = Get("cuGraphExecDestroy"), graphDestroy = Get("cuGraphDestroy");
            if (begin == 0 || end == 0 || inst == 0 || launch == 0 || execDestroy == 0 || graphDestroy == 0)
            {
                Problem = $"{name} lacks the CUDA graph entry points (driver too old for cuGraphInstantiateWithFlags)";
                return;
            }
            _begin = (delegate* unmanaged<IntPtr, int, int>)begin;
            _end = (delegate* unmanaged<IntPtr, IntPtr*, int>)end;
            _instantiate = (delegate* unmanaged<IntPtr*, IntPtr, ulong, int>)inst;
            _launch = (delegate* unmanaged<IntPtr, IntPtr, int>)launch;
            _execDestroy = (delegate* unmanaged<IntPtr, int>)execDestroy;
            _graphDestroy = (delegate* unmanaged<IntPtr, int>)graphDestroy;
        }

        public static int BeginCapture(IntPtr stream, int mode) => _begin(stream, mode);
        public static int EndCapture(IntPtr stream, IntPtr* graph) => _end(stream, graph);
        public static int Instantiate(IntPtr* exec, IntPtr graph, ulong flags) => _instantiate(exec, graph, flags);
        public static int Launch(IntPtr exec, IntPtr stream) => _launch(exec, stream);
        public static void ExecDestroy(IntPtr exec) => _execDestroy(exec);
        public static void GraphDestroy(IntPtr graph) => _graphDestroy(graph);
    }
}
