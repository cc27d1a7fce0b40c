using System.Diagnostics;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>How the host learns that a launched CUDA graph has finished (HEPBNN_GPU_WAIT).</summary>
public enum GpuWait
{
    /// <summary>cuStreamSynchronize (through ILGPU's stream), the driver's wait under the context's schedule flag.</summary>
    Sync,
    /// <summary>The host polls cuStreamQuery until the stream is idle.</summary>
    Query,
    /// <summary>The graph's last node is a one-warp kernel that sets a word of page-locked, device-mapped host memory
    /// (<see cref="MappedHostWord"/>); the host polls that word with plain loads (no driver call per poll) and calls
    /// cuStreamQuery only every <see cref="GpuCompletion.QueryEvery"/> polls, to notice a device fault.</summary>
    Word,
}

/// <summary>
/// The completion waits of <see cref="GpuWait"/> other than the driver's synchronize: the signal kernel a graph ends with,
/// and the host's polling loop, which is bounded — a device fault (cuStreamQuery answers an error) is reported by the
/// synchronize it then calls (<see cref="GpuDevice.Synchronize"/> wraps the driver's error as for any other wait), and a
/// run that neither finishes nor fails within <see cref="Timeout"/> is a <see cref="HepBnnException"/>, never a hang.
/// </summary>
public static unsafe class GpuCompletion
{
    const int Success = 0;
    const int NotReady = 600; // CUDA_ERROR_NOT_READY

    /// <summary>Polls of the word between two cuStreamQuery calls (a query costs about a driver call; a poll a cache miss).</summary>
    public const int QueryEvery = 256;

    /// <summary>How long a run may take before the wait gives up (far beyond any plan: VGG7 at batch 65536 takes ~0.1 s).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Null when <paramref name="wait"/> can be used on <paramref name="gpu"/>; otherwise why not.</summary>
    public static string? Unsupported(GpuDevice gpu, GpuWait wait) => wait switch
    {
        GpuWait.Sync => null,
        GpuWait.Query => Driver.Problem,
        _ => Driver.Problem ?? MappedHostWord.Unsupported(gpu),
    };

    /// <summary>Queues the signal kernel that sets <paramref name="word"/> to 1 (while capturing: the graph's last node).
    /// It follows the last kernel or copy over a plain edge (it does not begin with the predecessor wait), so everything
    /// before it — the scores in mapped host memory included — is complete and visible when the word flips.</summary>
    public static void EnqueueSignal(GpuDevice gpu, MappedHostWord word)
    {
        var signal = gpu.Kernel<Action<AcceleratorStream, KernelConfig, ulong>>("completion-signal", a => a.LoadKernel<ulong>(SignalKernel));
        try { signal(gpu.Stream, new KernelConfig(new Index3D(1, 1, 1), new Index3D(GpuDevice.WarpSize, 1, 1)), word.DeviceAddress); }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, "queueing the completion signal", gpu); }
    }

    static void SignalKernel(ulong address)
    {
        if (!CudaAsm.IsSupported) return;
        if (Grid.GlobalLinearIndex != 0) return;
        Input<ulong> a = address;
        CudaAsm.EmitRef("membar.sys;\n\tst.volatile.u32 [%0], 1;", ref a);
    }

    /// <summary>Waits for the work queued on <paramref name="gpu"/>'s stream as <paramref name="wait"/> says;
    /// <paramref name="word"/> is the graph's completion word (<see cref="GpuWait.Word"/> only).</summary>
    public static void Wait(GpuDevice gpu, GpuWait wait, MappedHostWord? word)
    {
        if (wait == GpuWait.Sync) { gpu.Synchronize(); return; }
        var stream = ((CudaStream)gpu.Stream).StreamPtr;
        int Query() => Driver.Query(stream);
        Poll(word is null ? null : () => word.Read() != 0, Query, () => gpu.Synchronize(), word is null ? 1 : QueryEvery,
             Stopwatch.Frequency * (long)Timeout.TotalSeconds, gpu.Description);
    }

    /// <summary>The polling loop, apart from the driver so that tests can run it: returns once <paramref name="done"/>
    /// says so or <paramref name="query"/> answers success (stream idle); an error answer calls
    /// <paramref name="fault"/> (the synchronize that throws the device's error) and, should that not throw, throws.
    /// Without <paramref name="done"/> it only queries.</summary>
    internal static void Poll(Func<bool>? done, Func<int> query, Action fault, int queryEvery, long timeoutTicks, string device)
    {
        long start = Stopwatch.GetTimestamp();
        for (int n = 1; ; n++)
        {
            if (done is not null && done()) return;
            if (n % queryEvery != 0) continue;
            int rc = query();
            if (rc == Success) return;
            if (rc != NotReady)
            {
                fault();
                throw new GpuUnavailableException($"waiting for the GPU failed on {device}: cuStreamQuery answered CUresult {rc}");
            }
            if (Stopwatch.GetTimestamp() - start >= timeoutTicks)
                throw new HepBnnException($"the GPU run on {device} did not finish within {timeoutTicks / (double)Stopwatch.Frequency:F0} s " +
                                          "(neither completed nor failed; HEPBNN_GPU_WAIT=sync waits with the driver instead)");
        }
    }

    /// <summary>cuStreamQuery, resolved from libcuda once.</summary>
    static class Driver
    {
        public static readonly string? Problem;
        static readonly delegate* unmanaged<IntPtr, int> _query;

        static Driver()
        {
            if (CudaDriverLibrary.Problem is { } missing) { Problem = missing; return; }
            IntPtr query = CudaDriverLibrary.Export("cuStreamQuery");
            if (query == 0) { Problem = $"{CudaDriverLibrary.Name} lacks cuStreamQuery"; return; }
            _query = (delegate* unmanaged<IntPtr, int>)query;
        }

        public static int Query(IntPtr stream) => _query(stream);
    }
}
