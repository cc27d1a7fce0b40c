using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
namespace HepBnn.Tests.Support;

/// <summary>Configurations that need an instruction set this CPU may lack (AVX2, AVX-512 + VPOPCNTDQ) report the test
/// as skipped, with the reason, instead of passing having checked nothing.</summary>
public static class CpuSupport
{
    static readonly Lazy<Block> _probe = new(() => BlockCompiler.Compile(ModelZoo.Vgg3(1))[1]); // a plain 64-channel binary conv

    public static void SkipUnlessRunsHere(IKernelConfiguration config) =>
        Assert.SkipUnless(config.Supports(_probe.Value),
            $"{config.Name} does not run on this CPU ({CpuFeatures.Detect().SimdSummary}): {config.Description}");
}
