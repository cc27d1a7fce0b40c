using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Tests.Support;

/// <summary>Configurations that need an instruction set this CPU may lack (AVX2, AVX-512 + VPOPCNTDQ) report the test
/// as skipped, with the reason, instead of passing having checked nothing.</summary>
public static class CpuSupport
{
    static readonly Lazy<Block> _probe = new(() => BlockCompiler.Compile(ModelZoo.Vgg3(1))[1]); // a plain 64-channel binary conv
    /// <summary>A dense bit layer (VGG3's fc1), for configurations made for dense blocks only (cpu.mt-dense-pairs).</summary>
    static readonly Lazy<Block> _denseProbe = new(() => BlockCompiler.Compile(ModelZoo.Vgg3(1))[2]);

    public static void SkipUnlessRunsHere(IKernelConfiguration config) =>
        Assert.SkipUnless(config.Supports(_probe.Value) || config.Supports(_denseProbe.Value),
            $"{config.Name} does not run on this CPU ({CpuFeatures.Detect().SimdSummary}): {config.Description}");
}
