using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;

namespace HepBnn.Tests.Gpu;

/// <summary>Without a GPU everything keeps working on the CPU, and asking for the GPU is one clear error.</summary>
public class NoGpuTests
{
    [Fact]
    public void SelectionNoneHasNoGpu()
    {
        using var res = new ExecutionResources(1, GpuSelection.None);
        Assert.False(res.TryOpen(DeviceKind.Gpu));
        Assert.True(res.TryOpen(DeviceKind.Cpu));
        Assert.Null(res.Gpu);
        var e = Assert.ThrowsAny<HepBnnException>(() => res.Allocate(DeviceKind.Gpu, 8));
        Assert.Contains("no GPU", e.Message);
    }

    [Fact]
    public void SessionWithAGpuConfigurationWithoutGpuIsAClearError()
    {
        var model = ModelZoo.Vgg3(1);
        var e = Assert.ThrowsAny<HepBnnException>(() => new InferenceSession(model, "gpu.warp-reduce", new SessionOptions { Gpu = GpuSelection.None }));
        Assert.Contains("gpu.warp-reduce", e.Message);
        Assert.Contains("Gpu", e.Message);
    }

    [Fact]
    public void PreparingAGpuConfigurationWithoutGpuIsAClearError()
    {
        using var res = new ExecutionResources(1, GpuSelection.None);
        var block = BlockCompiler.Compile(ModelZoo.Vgg3(1))[0];
        foreach (var config in ConfigurationRegistry.Gpu)
            Assert.ThrowsAny<HepBnnException>(() => config.Prepare(block, 1, res));
    }

    [Fact]
    public void CpuSessionWorksWhatever()
    {
        // Auto on a machine without CUDA (this one) or with it: CPU configurations never touch the GPU.
        var model = ModelZoo.Vgg3(1);
        using var session = new InferenceSession(model, "cpu.mt-rows", new SessionOptions { Gpu = GpuSelection.Auto });
        var image = ModelZoo.RandomImages(model.InputShape, 1, 1);
        var raw = new int[session.ScoresPerImage];
        session.Run(image, 1, raw);
        Assert.Equal(HepBnn.Reference.ReferenceEngine.RawScores(model, image), raw.Select(x => (double)x).ToArray());
    }

    [Fact]
    public void DetectionReportsAStatusAndPlatformListsGpuConfigurationsOnlyWithAGpu()
    {
        var platform = PlatformInfo.Detect();
        bool gpu = GpuDetection.Gpus.Count > 0;
        Assert.Equal(gpu, ConfigurationRegistry.Describe(gpu).Any(c => c.StartsWith("gpu.")));
        Assert.Equal(gpu, platform.GpuDetails.Count > 0);
        if (!gpu) Assert.True(platform.GpuStatus.StartsWith("no CUDA GPU") || platform.GpuStatus.StartsWith("no usable CUDA GPU: "), platform.GpuStatus);
        Assert.Contains("gpus=", platform.Fingerprint);
    }

    [Fact]
    public void AutoSelectionWithoutCudaFallsBackToNoGpuWithAReason()
    {
        Assert.SkipWhen(GpuDetection.Gpus.Count > 0, "meaningful only on a machine without a CUDA GPU (this one has one)");
        using var res = new ExecutionResources(1, GpuSelection.Auto);
        Assert.False(res.TryOpen(DeviceKind.Gpu));
        Assert.False(string.IsNullOrEmpty(res.GpuProblem));
    }

    [Fact]
    public void GpuSelectionParsesAndRejectsNonsense()
    {
        Assert.Equal(GpuSelection.CpuAccelerator, GpuSelections.Parse("cpu-accelerator"));
        Assert.Equal(GpuSelection.None, GpuSelections.Parse("NONE"));
        Assert.ThrowsAny<HepBnnException>(() => GpuSelections.Parse("tpu"));
    }
}
