using HepBnn.Devices;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The 8-bit image block of <see cref="GpuTensorCore"/> in one pass on the byte tensor cores
/// (<see cref="GpuMma.DotU8S8"/>: pixels as unsigned bytes, ±1 weights as signed bytes, exact integer sums). The rows,
/// tiles and fused epilogue are the binary kernel's (a group of 4 warps: 64 conv outputs × one 64-channel tile); the
/// reduction runs over the patch's kh·kw·C elements in the weights' [ky][kx][c] order, 32 per MMA step, each lane
/// gathering its 16 bytes of A straight from the image (zero for padding taps and past the patch — they add nothing,
/// as in the reference's raw sums). No pre-pass and no planes buffer: the first version wrote each patch as 8 bit
/// planes (8x the input) and ran 8 one-bit MMA passes over mostly padding.
/// </summary>
public static class GpuTensorCoreImage
{
    /// <summary>Weights as B fragments (<see cref="GpuTensorCore.BFragments"/>): lane t holds bytes 32·step + 4t..4t+3
    /// (low half) and 32·step + 16 + 4t.. (high half); zero past the patch and K.</summary>
    internal static ulong[] Fragments(Block block, GpuBlockParams p)
    {
        var w = block.ImageWeights!;
        int taps = block.KernelH * block.KernelW * block.InputShape.C;
        return GpuTensorCore.BFragments(block.OutChannels, p.PaddedK, p.KSteps, (ch, s, t) =>
            (Bytes(w, (long)ch * taps, taps, 32 * s + 4 * t), Bytes(w, (long)ch * taps, taps, 32 * s + 16 + 4 * t)));
    }

    static uint Bytes(sbyte[] w, long row, int taps, int e0)
    {
        uint v = 0;
        for (int j = 0; j < 4; j++)
            if (e0 + j < taps) v |= (uint)(byte)w[row + e0 + j] << (8 * j);
        return v;
    }

    /// <summary>Where each patch element lies, for the gathers (2 ints per element of the KSteps·32, at meta's
    /// ImageWeightOffset): ky·65536 + kx, and the byte offset (ky·InW + kx)·C + c from the window's top-left pixel.
    /// Elements past the patch get ky = 32767, which every bounds check refuses (the model validator keeps every
    /// dimension ≤ 16384, so ky and kx fit their 16 bits). No divisions left in the kernel.</summary>
    internal static int[] Taps(Block block, GpuBlockParams p)
    {
        int c = block.InputShape.C, kw = block.KernelW, inW = block.InputShape.W, taps = block.KernelH * kw * c;
        var table = new int[2 * 32 * p.KSteps];
        for (int e = 0; e < 32 * p.KSteps; e++)
        {
            if (e >= taps)
            {
                table[2 * e] = 32767 << 16;
                continue;
            }
            int tap = e / c, ch = e - tap * c, ky = tap / kw, kx = tap - ky * kw;
            table[2 * e] = ky << 16 | kx;
            table[2 * e + 1] = checked((ky * inW + kx) * c + ch);
        }
        return table;
    }

    /// <summary>Largest kernel height/width of <see cref="FastKernel"/>: a row's valid kernel rows and columns are bit masks
    /// of one 32-bit word (bit 31 stays clear). Larger kernels run <see cref="Kernel"/>.</summary>
    public const int MaxFastKernelSide = 31;

    /// <summary>Whether <paramref name="block"/> runs <see cref="FastKernel"/> (otherwise <see cref="Kernel"/>).</summary>
    public static bool UsesFastKernel(Block block) => block.KernelH <= MaxFastKernelSide && block.KernelW <= MaxFastKernelSide;

    /// <summary>Appends the per-class thresholds as <see cref="ThresholdPair"/>s (channels 2j, 2j+1 of one class side by
    /// side, 16-byte aligned at <see cref="GpuBlockParams.PairOffset"/>): the raw sum x fires iff (uint)(x − V) ≤ (uint)S,
    /// the same test as the value/span tables of <see cref="GpuTensorCore.Meta"/> (copied from them).</summary>
    internal static (GpuBlockParams, int[]) WithPairs(GpuBlockParams p, int[] meta, int classes)
    {
        int pk = p.PaddedK;
        p.PairOffset = (meta.Length + 3) & ~3;
        var all = new int[checked(p.PairOffset + classes * pk * 2)];
        meta.CopyTo(all, 0);
        for (int c = 0; c < classes; c++)
            for (int j = 0; j < pk / 2; j++)
            {
                int i = c * pk + 2 * j, o = p.PairOffset + 4 * (c * (pk / 2) + j);
                all[o] = meta[p.ValueOffset + i];
                all[o + 1] = meta[p.ValueOffset + i + 1];
                all[o + 2] = meta[p.SpanOffset + i];
                all[o + 3] = meta[p.SpanOffset + i + 1];
            }
        return (p, all);
    }

    /// <summary>Patch steps whose A fragments a lane gathers once and holds in registers for every channel tile: 2 steps,
    /// 64 elements (a 3×3 kernel over up to 7 channels). Longer patches are gathered again per tile.</summary>
    const int HeldSteps = 2;

    /// <summary>The kernel (bits output; image blocks with scores are refused). A group computes every channel tile of its
    /// rows (the grid has one group per row tile), its rows and table indices set up once; for patches of up to
    /// <see cref="HeldSteps"/> steps the A fragments too (VGG7's conv1 has 2 channel tiles and 1 step: the byte gathers
    /// with their bounds checks were most of each tile's instructions).</summary>
    public static void Kernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        var rows = GpuTensorCore.StartRows(p, SharedMemory.Allocate<int>(TileRows.CoordInts), SharedMemory.Allocate<ulong>(TileRows.MaxRows));
        var epilogue = new BitsEpilogue(p, meta, rows);
        int lane = Group.IdxX & 31, r = (Group.IdxX >> 5) * 16 + (lane >> 2);
        var a = new Window(p, rows, r);
        var b = new Window(p, rows, r + 8);
        bool held = p.KSteps <= HeldSteps; // the same for the whole grid
        var s0 = held ? GatherStep(p, input, meta, a, b, 0) : default;
        var s1 = held && p.KSteps > 1 ? GatherStep(p, input, meta, a, b, 1) : default;
        for (int tile = 0; tile < p.PaddedK / 64; tile++)
        {
            ulong andMask = poolAnd[tile];
            var acc = default(MmaTile8);
            long wb = (long)tile * p.KSteps * 256 + lane;
            if (held)
            {
                Mma8(ref acc, s0, weights, wb);
                if (p.KSteps > 1) Mma8(ref acc, s1, weights, wb + 256);
            }
            else
                for (int s = 0; s < p.KSteps; s++) Mma8(ref acc, GatherStep(p, input, meta, a, b, s), weights, wb + (long)s * 256);
            if (tile > 0) Group.Barrier(); // the previous tile's pooling has read the rows' bits
            epilogue.Store(p, outWords, meta, rows, tile, andMask, ref acc);
        }
    }

    /// <summary>This lane's A registers of 32-element step <paramref name="s"/>: rows g (window a) and g+8 (b), elements
    /// 4t.. and 16+4t.. of the step, one byte each from the image (0 in the padding and past the patch).</summary>
    static ImageFragment GatherStep(GpuBlockParams p, ArrayView<ulong> input, ArrayView<int> meta, Window a, Window b, int s)
    {
        int e = p.ImageWeightOffset + 8 * (Group.IdxX & 3) + 64 * s; // 2 ints per element: element 32s + 4t
        uint a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int j = 0; j < 4; j++)
        {
            int lo = e + 2 * j, hi = lo + 32; // elements 32s + 4t + j and 32s + 16 + 4t + j
            int dLo = meta[lo], oLo = meta[lo + 1], dHi = meta[hi], oHi = meta[hi + 1];
            a0 |= a.Pixel(p, input, dLo, oLo) << (8 * j);
            a1 |= b.Pixel(p, input, dLo, oLo) << (8 * j);
            a2 |= a.Pixel(p, input, dHi, oHi) << (8 * j);
            a3 |= b.Pixel(p, input, dHi, oHi) << (8 * j);
        }
        return new ImageFragment { A0 = a0, A1 = a1, A2 = a2, A3 = a3 };
    }

    /// <summary>The 8 byte MMAs of one step against its fragments at <paramref name="wb"/> (coalesced 64-bit loads); also
    /// <see cref="GpuTensorCoreImageFast"/>'s.</summary>
    internal static void Mma8(ref MmaTile8 acc, ImageFragment x, ArrayView<ulong> weights, long wb)
    {
        Step(ref acc.F0, x, weights[wb]);
        Step(ref acc.F1, x, weights[wb + 32]);
        Step(ref acc.F2, x, weights[wb + 64]);
        Step(ref acc.F3, x, weights[wb + 96]);
        Step(ref acc.F4, x, weights[wb + 128]);
        Step(ref acc.F5, x, weights[wb + 160]);
        Step(ref acc.F6, x, weights[wb + 192]);
        Step(ref acc.F7, x, weights[wb + 224]);
    }

    /// <summary>A lane's A registers of one byte-MMA step.</summary>
    internal struct ImageFragment
    {
        public uint A0, A1, A2, A3;
    }

    static void Step(ref MmaAccumulator c, ImageFragment x, ulong b) =>
        GpuMma.DotU8S8(ref c, x.A0, x.A1, x.A2, x.A3, (uint)b, (uint)(b >> 32));

    /// <summary>A row's convolution window: its top-left input pixel (may lie in the padding) and that pixel's byte index.</summary>
    struct Window
    {
        int _y, _x;
        long _base;

        public Window(GpuBlockParams p, TileRows rows, int r)
        {
            int n = rows.N[r];
            _y = rows.Y[r] * p.Stride - p.Pad;
            _x = rows.X[r] * p.Stride - p.Pad;
            if (n < 0) _y = -65536; // an empty row: every element out of bounds
            _base = (long)(n < 0 ? 0 : n) * p.InSample + ((long)_y * p.InW + _x) * p.InC;
        }

        /// <summary>The byte of the element at table entry (d = ky·65536 + kx, off), or 0 in the padding / past the patch.</summary>
        public readonly uint Pixel(GpuBlockParams p, ArrayView<ulong> input, int d, int off)
        {
            int iy = _y + (d >> 16), ix = _x + (d & 0xFFFF);
            if ((uint)iy >= (uint)p.InH || (uint)ix >= (uint)p.InW) return 0;
            return (uint)GpuBlockMath.ImageByte(input, _base + off);
        }
    }
}
