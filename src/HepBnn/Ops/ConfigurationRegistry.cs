using HepBnn.Devices;
using HepBnn.Ops.Cpu;
using HepBnn.Ops.Gpu;
namespace HepBnn.Ops;

/// <summary>Every parallel configuration the library knows; the profiler enumerates these.</summary>
public static class ConfigurationRegistry
{
    public static IReadOnlyList<IKernelConfiguration> Cpu { get; } =
        [new CpuScalar(), new CpuSimd256(), new CpuSimd512(), new CpuThreadsChannels(), new CpuThreadsRows(), new CpuThreadsBatch(),
         new CpuThreadsPixels(), new CpuThreadsPixels(4), new CpuThreadsPixels(8), new CpuThreadsChannels(8), new CpuThreadsTiles(), new CpuThreadsPixelWords(),
         new CpuThreadsPixelsSplit(), new CpuThreadsDensePairs(),
         .. CpuBlocked.Family()];

    /// <summary>GPU configurations (ILGPU kernels); usable where <see cref="ExecutionResources.TryOpen"/> says a GPU is.</summary>
    public static IReadOnlyList<IKernelConfiguration> Gpu { get; } =
        [new GpuThreadPerOutput(), new GpuThreadPerPixel(), new GpuWarpReduce(), new GpuGemv(), new GpuTiledShared(), new GpuTensorCore(), new GpuTensorCoreImageRows(), new GpuTensorCoreImageRowsStaged(), new GpuTensorCoreWide(), new GpuTensorCoreWideDeep(), new GpuTensorCoreWideSplit(), new GpuTensorCoreDenseNarrow(), new GpuTensorCoreWide2M(), new GpuTensorCoreWide2MR128(), new GpuTensorCoreWide4W(), new GpuTensorCoreWide2MLean(), new GpuTensorCoreWide4WLean(), new GpuTensorCoreWide2MFold(), new GpuTensorCoreWide2MBand(), new GpuFused(), .. GpuConstantShapes.Twins()];

    static readonly List<IKernelConfiguration> _all = [.. Cpu, .. Gpu];

    /// <summary>All configurations, CPU then GPU; whether one can run here is decided by Supports(block) and ExecutionResources.TryOpen(device).</summary>
    public static IReadOnlyList<IKernelConfiguration> All => _all;

    public static void Register(IKernelConfiguration config)
    {
        lock (_all) if (_all.All(c => c.Name != config.Name)) _all.Add(config);
    }

    public static IKernelConfiguration Find(string name) =>
        _all.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new HepBnnException($"unknown configuration '{name}' (known: {string.Join(", ", _all.Select(c => c.Name))})");

    /// <summary>"name (device): description" of the configurations usable here (GPU ones only when <paramref name="gpu"/>).</summary>
    public static IReadOnlyList<string> Describe(bool gpu) =>
        _all.Where(c => c.Device == DeviceKind.Cpu || gpu).Select(c => $"{c.Name} ({c.Device}): {c.Description}" +
                                   (ConfigurationAvailability.Reason(c) is { } why ? $" — unavailable: {why}" : "")).ToArray();

    public static IEnumerable<IKernelConfiguration> For(Block block, DeviceKind? device = null) =>
        _all.Where(c => (device is null || c.Device == device) && c.Supports(block));
}
