using System.Text.RegularExpressions;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
using HepBnn.Tests.Planning;
using ILGPU.Runtime.Cuda;

namespace HepBnn.Tests.Gpu;

/// <summary>GPU failures that can be produced without a CUDA GPU: each is one <see cref="GpuUnavailableException"/> with a
/// clear message, never an ILGPU exception, and leaves nothing allocated.</summary>
public class GpuFaultTests
{
    static readonly string[] AllGpu = ["gpu.thread-per-pixel", "gpu.thread-per-pixel", "gpu.thread-per-pixel", "gpu.thread-per-output"];

    [Fact]
    public void CudaRequestedWithoutCudaSaysNoUsableCudaGpu()
    {
        Assert.SkipWhen(GpuDetection.Gpus.Count > 0, "meaningful only on a machine without a CUDA GPU (this one has one)");
        using var res = new ExecutionResources(1, GpuSelection.Cuda);
        Assert.Null(res.Gpu);
        Assert.StartsWith("no usable CUDA GPU: ", res.GpuProblem);
        var e = Assert.Throws<GpuUnavailableException>(() => res.RequireGpu());
        Assert.StartsWith("no usable CUDA GPU: ", e.Message);
        var s = Assert.Throws<GpuUnavailableException>(() =>
            new InferenceSession(ModelZoo.Vgg3(1), "gpu.warp-reduce", new SessionOptions { Gpu = GpuSelection.Cuda }));
        Assert.Contains("gpu.warp-reduce", s.Message);
        Assert.Contains("no usable CUDA GPU: ", s.Message);
    }

    [Fact]
    public void APlanNamingGpuConfigurationsWithoutAGpuIsTheClearMessage()
    {
        Assert.SkipWhen(GpuDetection.Gpus.Count > 0, "meaningful only on a machine without a CUDA GPU (this one has one)");
        var model = ModelZoo.Vgg3(2);
        var plan = PlanTestSupport.Make(model, AllGpu, batch: 1);
        var e = Assert.Throws<GpuUnavailableException>(() => new InferenceSession(model, plan));
        Assert.Contains("needs a Gpu", e.Message);
        Assert.Contains("no usable CUDA GPU: ", e.Message);
    }

    [Fact]
    public void DriverFailuresAtOpeningBecomeAReasonNotAnException()
    {
        Exception[] failures =
        [
            new CudaException("initialization error"),
            new TypeInitializationException("ILGPU.Runtime.Cuda.CudaAPI", new DllNotFoundException("libcuda.so: cannot open")),
            new HepBnnException("warp size 64 is not supported"),
        ];
        foreach (var failure in failures)
        {
            var gpu = GpuDevice.TryOpen(() => throw failure, "no usable CUDA GPU", out var problem);
            Assert.Null(gpu);
            Assert.StartsWith("no usable CUDA GPU: ", problem);
        }
        GpuDevice.TryOpen(() => throw failures[1], "no usable CUDA GPU", out var dll);
        Assert.Equal("no usable CUDA GPU: DllNotFoundException: libcuda.so: cannot open", dll);
        Assert.Equal("no usable CUDA GPU: no CUDA device found", GpuDevice.NoCudaReason(null));
        Assert.Equal("no usable CUDA GPU: no CUDA device found", GpuDevice.NoCudaReason("no CUDA GPU"));
        Assert.Equal("no usable CUDA GPU: x", GpuDevice.NoCudaReason("no usable CUDA GPU: x"));
    }

    [Fact]
    public void CudaOutOfMemoryIsRecognised()
    {
        // (CudaException(CudaError) asks the CUDA driver for its text, so without CUDA only the message form can be built)
        Assert.True(GpuFaults.IsOutOfMemory(new CudaException("out of memory")));
        Assert.True(GpuFaults.IsOutOfMemory(new OutOfMemoryException()));
        Assert.False(GpuFaults.IsOutOfMemory(new CudaException("unspecified launch failure")));
        Assert.False(GpuFaults.IsDeviceFault(new HepBnnException("ours")));
        Assert.True(GpuFaults.IsDeviceFault(new CudaException("unspecified launch failure")));
    }
}

/// <summary>Out of memory, kernel compile failures and disposal on the emulated GPU (ILGPU's CPU accelerator).</summary>
[Collection(GpuCollection.Name)]
public class GpuMemoryFaultTests(CpuAcceleratorFixture fixture)
{
    static readonly string[] AllGpu = ["gpu.thread-per-pixel", "gpu.thread-per-pixel", "gpu.thread-per-pixel", "gpu.thread-per-output"];

    InferenceSession Session(BnnModel model, int batch) =>
        new(model, BlockCompiler.Compile(model), AllGpu.Select(ConfigurationRegistry.Find).ToArray(), new SessionOptions { MaxBatch = batch }, fixture.Resources);

    [Fact]
    public void DisposingAnIdleSessionReleasesItsGpuMemory()
    {
        var gpu = fixture.Resources.Gpu!;
        long before = gpu.AllocatedBytes;
        var session = Session(ModelZoo.Vgg3(7), batch: 3);
        long during = gpu.AllocatedBytes;
        session.Dispose();
        Assert.True(during > before, $"the session allocated nothing on the GPU ({before} → {during} bytes)");
        Assert.Equal(before, gpu.AllocatedBytes);

        using var buffer = new GpuBuffer(gpu, 100);
        Assert.Equal(before + 800, gpu.AllocatedBytes);
        buffer.Dispose();
        buffer.Dispose(); // twice is harmless and counted once
        Assert.True(buffer.IsDisposed);
        Assert.Equal(before, gpu.AllocatedBytes);
    }

    [Fact]
    public void OutOfMemoryAtSessionCreationNamesBytesBlockAndBatchAndReleasesEverything()
    {
        var gpu = fixture.Resources.Gpu!;
        var model = ModelZoo.Vgg3(8);
        long before = gpu.AllocatedBytes;
        long needed;
        using (Session(model, batch: 4)) needed = gpu.AllocatedBytes - before;
        try
        {
            gpu.MemoryLimitBytes = before + needed / 2; // a device that holds half of what the session needs
            var e = Assert.Throws<GpuOutOfMemoryException>(() => Session(model, batch: 4));
            var m = Regex.Match(e.Message, @"^GPU out of memory allocating (\d+) bytes for block (\S+) \(batch 4\)$");
            Assert.True(m.Success, e.Message);
            Assert.Equal(e.Bytes, long.Parse(m.Groups[1].Value));
            Assert.Contains(BlockCompiler.Compile(model), b => b.Name == m.Groups[2].Value);
            Assert.Equal(before, gpu.AllocatedBytes); // what was allocated before the failure is released
        }
        finally { gpu.MemoryLimitBytes = null; }
        using (Session(model, batch: 4)) Assert.Equal(before + needed, gpu.AllocatedBytes); // the device is fine afterwards
    }

    [Fact]
    public void AKernelThatFailsToCompileIsOneClearErrorAndNotCached()
    {
        var gpu = fixture.Resources.Gpu!;
        var e = Assert.Throws<GpuUnavailableException>(() => gpu.Kernel<object>("test/broken", _ => throw new InvalidOperationException("no PTX")));
        Assert.Contains("compiling GPU kernel test/broken", e.Message);
        Assert.Contains("InvalidOperationException: no PTX", e.Message);
        Assert.Equal("ok", gpu.Kernel<object>("test/broken", _ => "ok"));
    }
}
