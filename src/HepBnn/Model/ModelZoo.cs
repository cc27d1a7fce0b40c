namespace HepBnn.Model;

/// <summary>The reference networks of the HEP-BNN paper (Yayla et al.), with seeded random weights until trained ones exist.</summary>
public static class ModelZoo
{
    public static readonly string[] Names = ["vgg3", "vgg7"];

    /// <summary>VGG3 for Fashion-MNIST 1×28×28: C64 3×3 → MP2 → C64 3×3 → MP2 → FC2048 → FC10.</summary>
    public static BnnModel Vgg3(int seed = 1) => new ModelBuilder(new Shape3(28, 28, 1), seed)
        .InputConv(64).Pool().BnSign()
        .Conv(64).Pool().BnSign()
        .Flatten().Dense(2048).BnSign()
        .Dense(10).ScoreBn()
        .Build("vgg3");

    /// <summary>VGG7 for CIFAR-10 3×32×32: C128 ×2 → MP2 → C256 ×2 → MP2 → C512 ×2 → MP2 → FC1024 → FC10.</summary>
    public static BnnModel Vgg7(int seed = 1) => new ModelBuilder(new Shape3(32, 32, 3), seed)
        .InputConv(128, normalize: true).BnSign()
        .Conv(128).Pool().BnSign()
        .Conv(256).BnSign()
        .Conv(256).Pool().BnSign()
        .Conv(512).BnSign()
        .Conv(512).Pool().BnSign()
        .Flatten().Dense(1024).BnSign()
        .Dense(10).ScoreBn()
        .Build("vgg7");

    public static BnnModel? TryGet(string name, int seed) => name.ToLowerInvariant() switch
    {
        "vgg3" => Vgg3(seed),
        "vgg7" => Vgg7(seed),
        _ => null,
    };

    /// <summary>Deterministic 8-bit test images [n][H][W][C].</summary>
    public static byte[] RandomImages(Shape3 shape, int n, int seed)
    {
        if (n < 0 || n * shape.Elements > Array.MaxLength)
            throw new HepBnnException($"{n} images of {shape} ({n * shape.Elements} bytes) exceed the limit of {Array.MaxLength} bytes for generated images");
        var data = new byte[n * shape.Elements];
        new Random(seed).NextBytes(data);
        return data;
    }
}
