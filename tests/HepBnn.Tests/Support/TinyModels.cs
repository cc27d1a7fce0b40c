using HepBnn.Model;

namespace HepBnn.Tests.Support;

/// <summary>Small models with the layer pattern of the zoo's networks, for whole-model runs on the emulated GPU
/// (the ILGPU CPU accelerator runs a kernel thread by thread, so a full VGG3 costs tens of seconds there).</summary>
public static class TinyModels
{
    /// <summary>VGG3's pattern on 8×8×1: C64 3×3 → MP2 → C64 3×3 → MP2 → FC128 → FC10 (+ score BN). Same channel
    /// counts as VGG3 (one 64-bit word per pixel), so the kernels take the same paths on a fraction of the pixels.</summary>
    public static BnnModel Vgg3Like(int seed) => new ModelBuilder(new Shape3(8, 8, 1), seed)
        .InputConv(64).Pool().BnSign()
        .Conv(64).Pool().BnSign()
        .Flatten().Dense(128).BnSign()
        .Dense(10).ScoreBn()
        .Build("tiny-vgg3");
}
