using HepBnn.Devices;

namespace HepBnn.Planning;

/// <summary>A profile's isolated block timings as a per-layer table (what <c>hepbnn bench --layers</c> and
/// <c>hepbnn profile</c> print); off-host configurations also with their input copied in and their output copied back
/// (the profile's transfer medians added to the kernel's).</summary>
public sealed record LayerTable(string Model, int Batch, IReadOnlyList<BlockTiming> Timings)
{
    public static LayerTable From(Profile p) => new(p.Model, p.Batch, p.Blocks.SelectMany(b => b.Configurations.Select(c =>
        new BlockTiming(b.Index, b.Name, c.Configuration, c.Device, new TimingStats(c.MedianUs, c.P10Us, c.P90Us, c.Samples), Pruned: c.Pruned,
            WithTransfers: WithTransfers(p, b.Index, c.Device, c.MedianUs)))).ToList());

    static TimingStats? WithTransfers(Profile p, int block, DeviceKind device, double kernelUs)
    {
        if (device == DeviceKind.Cpu) return null;
        var toDevice = p.Transfers.FirstOrDefault(t => t.Boundary == block && t.Device == device && t.Direction == TransferDirection.HostToDevice);
        var toHost = p.Transfers.FirstOrDefault(t => t.Boundary == block + 1 && t.Device == device && t.Direction == TransferDirection.DeviceToHost);
        if (toDevice is null || toHost is null) return null;
        double us = kernelUs + toDevice.MedianUs + toHost.MedianUs;
        return new TimingStats(us, us, us, 1);
    }
}
