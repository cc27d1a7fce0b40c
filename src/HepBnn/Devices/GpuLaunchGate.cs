using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Devices;

/// <summary>
/// Lets a GPU segment's graph be launched before its input is in the page-locked staging buffer. The graph's first node
/// waits on a word of page-locked, device-mapped host memory — a one-thread kernel polling it with volatile loads
/// (<see cref="GateMode.On"/>), or the driver's stream wait, cuStreamWaitValue32, captured as a memory-operation node
/// (<see cref="GateMode.Memop"/>); the host launches the graph, writes the staging buffer, then sets the word
/// (<see cref="Open"/>), and the GPU goes on. Measured on the H200 (docs/results/h200-io3): the driver's wait made VGG3
/// b256 runs 6–12 µs SLOWER (it notices the word late), so the default is off. The driver's launch call and the GPU's start of the graph (together ~5 µs on the H200: a graph's launch +
/// wait measured 6.8 µs empty) then overlap the host's staging copy (VGG3 b256: 200 KB, ~5 µs over the CPU workers)
/// instead of following it. The results are the same: the wait orders the H2D node (or, with mapped input, the first
/// kernel's reads) after the host's stores, which <see cref="StagingCopy"/> fences before <see cref="Open"/> is called.
/// The word is reset by the host after the run's synchronize (<see cref="Close"/>), when nothing on the GPU reads it.
/// Every launched gated graph MUST be followed by <see cref="Open"/>, also when the copy fails (the segment does this in
/// a finally), or the stream waits forever.
/// </summary>
public sealed unsafe class GpuLaunchGate : IDisposable
{
    const int Success = 0;
    const uint WaitGreaterOrEqual = 0;      // CU_STREAM_WAIT_VALUE_GEQ

    readonly GpuDevice _gpu;
    MappedHostWord? _word;

    GpuLaunchGate(GpuDevice gpu, MappedHostWord word) { _gpu = gpu; _word = word; }

    /// <summary>Null when a gate can be used on <paramref name="gpu"/> (a CUDA device with graphs, mapped host memory and
    /// the driver's stream memory operations); otherwise why not.</summary>
    public static string? Unsupported(GpuDevice gpu) =>
        CudaGraph.Unsupported(gpu) ?? MappedHostWord.Unsupported(gpu) ?? Driver.Problem;

    /// <summary>Whether a run with <paramref name="inputBytes"/> bytes of input should launch gated
    /// (HEPBNN_GATED_LAUNCH: auto, the default, gates inputs of at least <see cref="StagingCopy.StreamingMinBytes"/>: below
    /// that the copy takes well under a microsecond and the wait node would cost more than it hides).</summary>
    public static bool WantedFor(long inputBytes) => EnvironmentSwitches.GatedLaunch switch
    {
        GateMode.On or GateMode.Memop => true,
        GateMode.Auto => AutoGates && inputBytes >= StagingCopy.StreamingMinBytes,
        _ => false,
    };

    /// <summary>Whether auto gates large inputs: no, the gate measured slower on the H200 (see the class remarks).</summary>
    public const bool AutoGates = false;

    /// <summary>HEPBNN_GATED_LAUNCH's values: auto (the default: <see cref="AutoGates"/>), on (spin kernel), memop (the
    /// driver's stream wait), off.</summary>
    public enum GateMode { Auto, On, Off, Memop }

    /// <summary>A gate on <paramref name="gpu"/>, closed; null with <paramref name="problem"/> where none can be made.</summary>
    public static GpuLaunchGate? TryCreate(GpuDevice gpu, out string? problem)
    {
        problem = Unsupported(gpu);
        if (problem is not null) return null;
        var word = MappedHostWord.TryCreate(gpu, "the gate word", out problem);
        return word is null ? null : new GpuLaunchGate(gpu, word);
    }

    /// <summary>Queues the wait on the session stream (while capturing: the graph's first node). Throws
    /// <see cref="GpuUnavailableException"/> when the driver refuses (the capture then fails and the segment goes on without
    /// a gate).</summary>
    public void EnqueueWait()
    {
        ObjectDisposedException.ThrowIf(_word is null, this);
        if (EnvironmentSwitches.GatedLaunch != GateMode.Memop)
        {
            var spin = _gpu.Kernel<Action<AcceleratorStream, KernelConfig, ulong>>("gate-spin", a => a.LoadKernel<ulong>(SpinKernel));
            try { spin(_gpu.Stream, new KernelConfig(new Index3D(1, 1, 1), new Index3D(GpuDevice.WarpSize, 1, 1)), _word.DeviceAddress); }
            catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, "queueing the launch gate's kernel", _gpu); }
            return;
        }
        int rc = Driver.Wait(((CudaStream)_gpu.Stream).StreamPtr, _word.DeviceAddress, 1, WaitGreaterOrEqual);
        if (rc != Success) throw new GpuUnavailableException($"cuStreamWaitValue32 failed on {_gpu.Description} (CUresult {rc})");
    }

    /// <summary>Polls the gate word (volatile loads: each one crosses PCIe, ~1 µs) until the host sets it. Bounded (a few
    /// seconds at most) so that a host that never opens the gate cannot hang the GPU for good; the bound is far beyond
    /// any staging copy. Only on CUDA (the gate is never made on the CPU accelerator).</summary>
    static void SpinKernel(ulong address)
    {
        if (!CudaAsm.IsSupported) return;
        if (Grid.GlobalLinearIndex != 0) return;
        uint value = 0;
        for (int n = 0; n < 4_000_000 && value == 0; n++)
        {
            Output<uint> v = default;
            Input<ulong> a = address;
            CudaAsm.EmitRef("ld.volatile.u32 %0, [%1];", ref v, ref a);
            value = v.Value;
        }
    }

    /// <summary>Lets the waiting graph go on. Call after the input is written (and fenced, for non-temporal stores).</summary>
    public void Open() => _word!.Write(1u);

    /// <summary>Closes the gate for the next launch. Only after the stream was synchronized: nothing waits on it then.</summary>
    public void Close() => _word!.Write(0u);

    /// <summary>Whether the gate is open (for tests and diagnostics).</summary>
    public bool IsOpen => _word!.Read() != 0;

    public void Dispose()
    {
        _word?.Dispose();
        _word = null;
    }

    /// <summary>The driver's stream wait, resolved from libcuda once.</summary>
    static class Driver
    {
        public static readonly string? Problem;
        static readonly delegate* unmanaged<IntPtr, ulong, uint, uint, int> _wait;

        static Driver()
        {
            if (CudaDriverLibrary.Problem is { } missing) { Problem = missing; return; }
            string name = CudaDriverLibrary.Name;
            static IntPtr Get(string symbol) => CudaDriverLibrary.Export(symbol);
            IntPtr wait = Get("cuStreamWaitValue32_v2");
            if (wait == 0) wait = Get("cuStreamWaitValue32");
            if (wait == 0) { Problem = $"{name} lacks cuStreamWaitValue32"; return; }
            _wait = (delegate* unmanaged<IntPtr, ulong, uint, uint, int>)wait;
        }

        public static int Wait(IntPtr stream, ulong address, uint value, uint flags) => _wait(stream, address, value, flags);
    }
}
