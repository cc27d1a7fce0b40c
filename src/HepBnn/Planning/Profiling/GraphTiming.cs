using System.Runtime.CompilerServices;
using HepBnn.Devices;
using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Planning;

/// <summary>
/// Timing of GPU work as a session runs it with graphs on: captured into a <see cref="CudaGraph"/>, one graph launch and
/// one wait per sample. What a segment costs is then
/// <c>entry (graph launch + H2D + wait) + Σ node costs of its blocks + D2H node</c>, which is how the profile's numbers are
/// taken when <see cref="Enabled"/>: a block is timed as <see cref="ChainNodes"/> copies of its launch in one graph, minus
/// the cost of an (almost) empty graph, divided by the count; the host→device move as a whole graph of that copy (so it
/// carries the segment's fixed cost once); the device→host move as its graph minus the empty graph.
/// </summary>
public static class GraphTiming
{
    /// <summary>Launches of one block per captured chain (the node cost is the slope over them).</summary>
    public const int ChainNodes = 8;

    static readonly ConditionalWeakTable<GpuDevice, StrongBox<double>> Overheads = new();

    /// <summary>True when this session's GPU work is profiled as graphs: graphs on in <paramref name="res"/> and possible on its GPU.</summary>
    public static bool Enabled(ExecutionResources res, DeviceKind device) =>
        device == DeviceKind.Gpu && res.CudaGraphs && res.Gpu is { } gpu && CudaGraph.Unsupported(gpu) is null;

    /// <summary>Captures <paramref name="enqueue"/> once and times launch + wait of the graph; null if capture fails
    /// (the caller then times eager launches). <paramref name="host"/> arrays are page-locked for the capture.</summary>
    public static (TimingStats Stats, bool Abandoned)? Measure(GpuDevice gpu, Action enqueue, double budgetMs, double abandonAboveUs,
        int minSamples, params ulong[][] host) => Measure(gpu, enqueue, budgetMs, abandonAboveUs, minSamples, null, host);

    /// <summary>As above, with the graph's kernel→kernel edges programmatic or not as <paramref name="dependentLaunch"/>
    /// says (null: the device's setting, as sessions capture).</summary>
    public static (TimingStats Stats, bool Abandoned)? Measure(GpuDevice gpu, Action enqueue, double budgetMs, double abandonAboveUs,
        int minSamples, bool? dependentLaunch, params ulong[][] host)
    {
        foreach (var h in host) gpu.PageLocks.Hold(h);
        try
        {
            using var graph = CudaGraph.TryCapture(gpu, enqueue, out _, dependentLaunch);
            if (graph is null) return null;
            // graph.Run waits the way sessions wait (HEPBNN_GPU_WAIT): the profile prices the session's completion path.
            return TimingStats.MeasureAdaptive(graph.Run, budgetMs, abandonAboveUs, minSamples);
        }
        finally
        {
            foreach (var h in host) gpu.PageLocks.Unhold(h);
        }
    }

    /// <summary>Median µs of launching and waiting for a graph of one empty kernel on <paramref name="gpu"/> (measured once
    /// per device): the part of every graph sample that is not the work in it.</summary>
    public static double EmptyGraphUs(GpuDevice gpu)
    {
        lock (Overheads)
        {
            if (Overheads.TryGetValue(gpu, out var box)) return box.Value;
            var empty = gpu.Kernel<Action<AcceleratorStream, KernelConfig, int>>("empty", a => a.LoadKernel<int>(EmptyKernel));
            var one = new KernelConfig(new Index3D(1, 1, 1), new Index3D(GpuDevice.WarpSize, 1, 1));
            var m = Measure(gpu, () => empty(gpu.Stream, one, 0), 100, double.PositiveInfinity, 20);
            double us = m?.Stats.MedianUs ?? 0;
            Overheads.Add(gpu, new StrongBox<double>(us));
            return us;
        }
    }

    static void EmptyKernel(int unused) { }

    /// <summary>An empty kernel that may be a programmatic dependent (begins with the predecessor wait).</summary>
    static void WaitingEmptyKernel(int unused)
    {
        GpuDependentLaunch.Wait();
    }

    /// <summary>The waiting empty kernel of <paramref name="gpu"/> and its one-warp launch.</summary>
    public static (Action<AcceleratorStream, KernelConfig, int> Launch, KernelConfig Config) WaitingEmpty(GpuDevice gpu) =>
        (gpu.Kernel<Action<AcceleratorStream, KernelConfig, int>>("empty-waiting", a => a.LoadKernel<int>(WaitingEmptyKernel)),
         new KernelConfig(new Index3D(1, 1, 1), new Index3D(GpuDevice.WarpSize, 1, 1)));

    static readonly ConditionalWeakTable<GpuDevice, StrongBox<(double, double)?>> Nodes = new();

    /// <summary>What one empty kernel adds as a node of a captured chain (<see cref="ChainNodes"/> waiting empty kernels
    /// minus the empty graph, per node), with plain edges and with programmatic ones; measured once per device. Null when
    /// this device's graphs cannot have programmatic edges.</summary>
    public static (double PlainUs, double ProgrammaticUs)? EmptyNodeUs(GpuDevice gpu)
    {
        lock (Nodes)
        {
            if (Nodes.TryGetValue(gpu, out var box)) return box.Value;
            (double, double)? result = null;
            if (CudaGraph.ProgrammaticEdgesProblem(gpu) is null)
            {
                var (empty, one) = WaitingEmpty(gpu);
                void Chain() { for (int i = 0; i < ChainNodes; i++) empty(gpu.Stream, one, i); }
                double graphUs = EmptyGraphUs(gpu);
                var plain = Measure(gpu, Chain, 100, double.PositiveInfinity, 20, false);
                var programmatic = Measure(gpu, Chain, 100, double.PositiveInfinity, 20, true);
                if (plain is { } p && programmatic is { } q)
                    result = (Math.Max(0, p.Stats.MedianUs - graphUs) / ChainNodes, Math.Max(0, q.Stats.MedianUs - graphUs) / ChainNodes);
            }
            Nodes.Add(gpu, new StrongBox<(double, double)?>(result));
            return result;
        }
    }

    /// <summary>What the first kernel of a segment costs more than the block costs measured in programmatic chains say:
    /// it follows the host→device copy over a plain edge, so its launch is not hidden. 0 where edges stay plain.</summary>
    public static double FirstKernelExtraUs(GpuDevice gpu) =>
        gpu.DependentLaunch && EmptyNodeUs(gpu) is { } n ? Math.Max(0, n.PlainUs - n.ProgrammaticUs) : 0;
}
