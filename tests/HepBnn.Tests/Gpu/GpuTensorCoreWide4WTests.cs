using HepBnn.Devices;

namespace HepBnn.Tests.Gpu;

/// <summary>ILGPU's CPU accelerator with groups of 4 warps, for gpu.tensor-core-wide-4w as it runs on a GPU (warps 2–3
/// computing the second channel tile of each pair from the same stage; the default test accelerator holds 2 warps).</summary>
public sealed class FourWarpCpuAccelerator : IDisposable
{
    public ExecutionResources Resources { get; } = new(GpuDevice.OpenCpuAccelerator(4));
    public void Dispose() => Resources.Dispose();
}

/// <summary>gpu.tensor-core-wide-4w with 128-thread groups against the reference: 1 tile (the second warp pair idle), 2
/// tiles (one pair), 3 tiles (a pair, then a pair with its second half idle, in one group on the CPU accelerator's two
/// rounds), 5 tiles (a group of two pairs and one starting at tile 4); pooling 2×2 and 3×3 on both sides of the
/// BatchNorm (the halves' own 64 entries of pooled bits), stride, padding, 1×1 and 5×5 kernels, odd and even MMA steps,
/// dense and scores (the scores kernel's halves).</summary>
[Collection(GpuCollection.Name)]
public class GpuTensorCoreWide4WTests(FourWarpCpuAccelerator accelerator) : IClassFixture<FourWarpCpuAccelerator>
{
    [Theory]
    [MemberData(nameof(GpuTensorCoreTests.Wide4WShapes), MemberType = typeof(GpuTensorCoreTests))]
    public void FourWarpGroupsMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch)
    {
        Assert.Equal(128, accelerator.Resources.RequireGpu().MaxGroupSize);
        GpuTensorCoreTests.CheckBlocks(accelerator.Resources, "gpu.tensor-core-wide-4w", h, w, c, k, kernel, stride, pad, pool, batch);
    }

    /// <summary>The same shapes with the rows' popcounts by POPC (each warp of a pair counting its own 32 rows).</summary>
    [Theory]
    [MemberData(nameof(GpuTensorCoreTests.Wide4WShapes), MemberType = typeof(GpuTensorCoreTests))]
    public void FourWarpGroupsLeanMatchReference(int h, int w, int c, int k, int kernel, int stride, int pad, int pool, int batch)
    {
        Assert.Equal(128, accelerator.Resources.RequireGpu().MaxGroupSize);
        GpuTensorCoreTests.CheckBlocks(accelerator.Resources, "gpu.tensor-core-wide-4w-lean", h, w, c, k, kernel, stride, pad, pool, batch);
    }
}
