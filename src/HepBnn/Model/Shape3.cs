namespace HepBnn.Model;

/// <summary>Per-sample activation shape in NHWC order (batch is not part of it).</summary>
public readonly record struct Shape3(int H, int W, int C)
{
    public int Pixels => H * W;
    public long Elements => (long)H * W * C;
    /// <summary>64-bit words per pixel when packed along C (tail bits stay zero).</summary>
    public int ChannelWords => (C + 63) >> 6;
    public long PackedWords => (long)H * W * ChannelWords;
    public override string ToString() => $"{H}x{W}x{C}";
}
