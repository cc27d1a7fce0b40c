using System.Runtime.InteropServices;

namespace HepBnn.Devices;

/// <summary>CUDA's <c>CUgraphEdgeData</c> (8 bytes): when the upstream node triggers the edge (port), what of the
/// downstream node depends on it, and the dependency type. All zero is a plain edge (full completion, memory visible).</summary>
[StructLayout(LayoutKind.Sequential, Size = 8)]
public struct GraphEdgeData
{
    public byte FromPort, ToPort, Type;

    /// <summary><c>CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC</c> from <c>CU_GRAPH_KERNEL_NODE_PORT_PROGRAMMATIC</c>: the
    /// downstream kernel may launch once every block of the upstream kernel has triggered (executed
    /// <c>griddepcontrol.launch_dependents</c>) or exited; its <c>griddepcontrol.wait</c> then waits for completion.</summary>
    public static GraphEdgeData Programmatic => new() { FromPort = 1, ToPort = 0, Type = 1 };

    public readonly bool IsDefault => FromPort == 0 && ToPort == 0 && Type == 0;
}

/// <summary>
/// Turns the kernel→kernel edges of a captured graph into programmatic ones (CUDA 12.3+ edge data: read the edges, remove
/// the chosen plain ones, add them back as programmatic). Only an edge whose downstream kernel is known to begin with
/// <see cref="GpuDependentLaunch.Wait"/> (<see cref="GpuDevice.KernelWaits"/>) is converted; copies keep plain edges on
/// both sides, so the input is in device memory before the first kernel and the output copy waits for the last.
/// </summary>
internal static unsafe class CudaGraphEdges
{
    const int Success = 0;
    /// <summary><c>CU_GRAPH_NODE_TYPE_KERNEL</c>.</summary>
    public const int KernelNode = 0;

    /// <summary>Null when the driver has the edge-data entry points; otherwise why programmatic edges are unavailable.</summary>
    public static string? Problem => Driver.Problem;

    /// <summary>The edges to make programmatic, as indices into the graph's edge list: both ends kernel nodes, the edge
    /// still plain, the downstream kernel waiting for its predecessors. Pure, so it is tested without a GPU.</summary>
    public static int Select(ReadOnlySpan<int> fromTypes, ReadOnlySpan<int> toTypes, ReadOnlySpan<bool> toWaits,
        ReadOnlySpan<GraphEdgeData> data, Span<int> picked)
    {
        int count = 0;
        for (int i = 0; i < fromTypes.Length; i++)
            if (fromTypes[i] == KernelNode && toTypes[i] == KernelNode && toWaits[i] && data[i].IsDefault)
                picked[count++] = i;
        return count;
    }

    /// <summary>Converts the edges <see cref="Select"/> picks in <paramref name="graph"/>. True when the graph is whole
    /// (converted, or left as it was with <paramref name="problem"/> saying why); false only when plain edges were removed
    /// and could not be restored (the graph must then not be used).</summary>
    public static bool Convert(GpuDevice gpu, IntPtr graph, out int converted, out string? problem)
    {
        converted = 0;
        problem = Driver.Problem;
        if (problem is not null) return true;
        nuint n = 0;
        int rc = Driver.GetEdges(graph, null, null, null, &n);
        if (rc != Success) { problem = $"cuGraphGetEdges_v2 failed (CUresult {rc})"; return true; }
        if (n == 0) return true;
        var from = new IntPtr[n];
        var to = new IntPtr[n];
        var data = new GraphEdgeData[n];
        fixed (IntPtr* f = from, t = to)
        fixed (GraphEdgeData* d = data)
            rc = Driver.GetEdges(graph, f, t, d, &n);
        if (rc != Success) { problem = $"cuGraphGetEdges_v2 failed (CUresult {rc})"; return true; }
        int count = (int)n;
        var fromTypes = new int[count];
        var toTypes = new int[count];
        var toWaits = new bool[count];
        for (int i = 0; i < count; i++)
        {
            fromTypes[i] = Driver.NodeType(from[i]);
            toTypes[i] = Driver.NodeType(to[i]);
            toWaits[i] = toTypes[i] == KernelNode && Driver.KernelFunction(to[i]) is var fn && fn != IntPtr.Zero && gpu.KernelWaits(fn);
        }
        var picked = new int[count];
        int k = Select(fromTypes, toTypes, toWaits, data.AsSpan(0, count), picked);
        if (k == 0) return true;
        var pf = new IntPtr[k];
        var pt = new IntPtr[k];
        var plain = new GraphEdgeData[k];
        var programmatic = new GraphEdgeData[k];
        for (int j = 0; j < k; j++) { pf[j] = from[picked[j]]; pt[j] = to[picked[j]]; programmatic[j] = GraphEdgeData.Programmatic; }
        fixed (IntPtr* f = pf, t = pt)
        fixed (GraphEdgeData* dp = plain, dq = programmatic)
        {
            rc = Driver.RemoveDependencies(graph, f, t, dp, (nuint)k);
            if (rc != Success) { problem = $"cuGraphRemoveDependencies_v2 failed (CUresult {rc})"; return true; }
            rc = Driver.AddDependencies(graph, f, t, dq, (nuint)k);
            if (rc == Success) { converted = k; return true; }
            problem = $"cuGraphAddDependencies_v2 with programmatic edges failed (CUresult {rc})";
            return Driver.AddDependencies(graph, f, t, dp, (nuint)k) == Success;
        }
    }

    /// <summary>The edge-data entry points (CUDA 12.3+), resolved from libcuda once.</summary>
    static class Driver
    {
        public static readonly string? Problem;
        static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, GraphEdgeData*, nuint*, int> _getEdges;
        static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, GraphEdgeData*, nuint, int> _remove;
        static readonly delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, GraphEdgeData*, nuint, int> _add;
        static readonly delegate* unmanaged<IntPtr, int*, int> _nodeType;
        static readonly delegate* unmanaged<IntPtr, byte*, int> _kernelParams;

        static Driver()
        {
            if (CudaDriverLibrary.Problem is { } missing) { Problem = missing; return; }
            string name = CudaDriverLibrary.Name;
            static IntPtr Get(string symbol) => CudaDriverLibrary.Export(symbol);
            IntPtr get = Get("cuGraphGetEdges_v2"), remove = Get("cuGraphRemoveDependencies_v2"), add = Get("cuGraphAddDependencies_v2"),
                type = Get("cuGraphNodeGetType"), kp = Get("cuGraphKernelNodeGetParams_v2");
            if (get == 0 || remove == 0 || add == 0 || type == 0 || kp == 0)
            {
                Problem = $"{name} lacks the graph edge-data entry points (programmatic dependent launch needs a CUDA 12.3+ driver)";
                return;
            }
            _getEdges = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, GraphEdgeData*, nuint*, int>)get;
            _remove = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, GraphEdgeData*, nuint, int>)remove;
            _add = (delegate* unmanaged<IntPtr, IntPtr*, IntPtr*, GraphEdgeData*, nuint, int>)add;
            _nodeType = (delegate* unmanaged<IntPtr, int*, int>)type;
            _kernelParams = (delegate* unmanaged<IntPtr, byte*, int>)kp;
        }

        public static int GetEdges(IntPtr graph, IntPtr* from, IntPtr* to, GraphEdgeData* data, nuint* count) => _getEdges(graph, from, to, data, count);
        public static int RemoveDependencies(IntPtr graph, IntPtr* from, IntPtr* to, GraphEdgeData* data, nuint count) => _remove(graph, from, to, data, count);
        public static int AddDependencies(IntPtr graph, IntPtr* from, IntPtr* to, GraphEdgeData* data, nuint count) => _add(graph, from, to, data, count);

        /// <summary>The node's CUgraphNodeType, or -1 when the driver cannot say.</summary>
        public static int NodeType(IntPtr node)
        {
            int type;
            return _nodeType(node, &type) == Success ? type : -1;
        }

        /// <summary>The CUfunction a kernel node launches (the first field of CUDA_KERNEL_NODE_PARAMS_v2, 72 bytes; read
        /// into a larger buffer), or zero when the driver cannot say.</summary>
        public static IntPtr KernelFunction(IntPtr node)
        {
            byte* buffer = stackalloc byte[256];
            new Span<byte>(buffer, 256).Clear();
            return _kernelParams(node, buffer) == Success ? *(IntPtr*)buffer : IntPtr.Zero;
        }
    }
}
