using HepBnn.Model;
namespace HepBnn.Tests.Support;

/// <summary>Random models whose middle conv blocks have 2–4 output words (the last one partial) after a first conv, with
/// even pooling (the AVX-512 pixel-pair path), odd overlapping pooling or none with stride 1 or 2 (seed % 3 picks), a
/// conv without pooling and a dense head: the shapes the multi-word CPU partitions (cpu.mt-pixel-words,
/// cpu.mt-pixels-split) are tested on.</summary>
public static class MultiWordModels
{
    public static BnnModel Random(int seed, string namePrefix)
    {
        var rng = new Random(seed);
        int h = rng.Next(3, 10), w = rng.Next(3, 10);
        var m = new ModelBuilder(new Shape3(h, w, rng.Next(1, 4)), seed).InputConv(64 + rng.Next(1, 70)).BnSign();
        int k = 64 * rng.Next(1, 4) + rng.Next(1, 64); // 2–4 output words, the last one partial
        switch (seed % 3)
        {
            case 0: m.Conv(k).Pool().BnSign(); break;                  // even window: pixel pairs (the cached pair path)
            case 1: m.Conv(k).Pool(3, 1).BnSign(); break;              // odd window, overlapping
            default: m.Conv(k, 3, rng.Next(1, 3), 1).BnSign(); break;  // no pool (runs of pixel pairs, an odd row's last pixel alone), stride 1 or 2
        }
        m.Conv(64 * rng.Next(2, 4)).BnSign(); // no pool: cells of pixel pairs
        return m.Flatten().Dense(65 + rng.Next(0, 80)).BnSign().Dense(rng.Next(2, 140)).Build($"{namePrefix}-{seed}");
    }
}
