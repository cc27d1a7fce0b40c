using HepBnn.Devices;
using ILGPU;
using ILGPU.Runtime;
using static HepBnn.Ops.Gpu.GpuImageRowsData;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The 8-bit first layer on the byte tensor cores with far fewer instructions per output than
/// <see cref="GpuTensorCoreImageFast"/>, which Nsight Compute on the H200 showed issue-bound (VGG3 conv1 at batch 256:
/// ~990 warp instructions per 8 MMAs, docs/results/h200-io256). Here:
/// <list type="bullet">
/// <item>the patch is reduced in 4-byte chunks of input rows (<see cref="GpuImageRowsData"/>): a lane's A register is
/// two aligned 32-bit loads and a funnel shift, masked to the row's valid bytes, instead of four byte gathers each with
/// its own table read and bounds test;</item>
/// <item>a warp runs two m16 tiles (32 rows) per unit, and with 2×2 pooling a lane's four rows (rows g and g+8 of both
/// tiles) are exactly one pooling window, so pooling is a max of four integers in the lane and one sign test per pooled
/// bit (the accumulators start at each row's per-class offset, the sign is folded into the weights) — no shuffles or
/// threshold compares per conv output;</item>
/// <item>rows located by multiply-shift divisions (no division instruction), units taken in a grid-stride loop so the
/// lane's chunk descriptors are decoded once.</item>
/// </list>
/// Blocks without pooling take the same path with one sign test per conv output. Patches of up to
/// <see cref="GpuImageRowsData.MaxChunks"/> chunks (two MMA steps, gathered once for every channel tile).
/// </summary>
public class GpuTensorCoreImageRows : GpuConfiguration
{
    const int MaxWarps = 4;
    /// <summary>Groups per SM the grid is sized for: the units are spread over that many groups per SM (a warp takes
    /// ⌈units / slots⌉ units). 4: the kernel takes 128 registers (ptxas, sm_90), so 4 groups of 128 threads fill an SM's
    /// 64K registers and the grid is one whole wave; on the H200 at VGG3 b256 (Nsight Compute, docs/results/h200-img8)
    /// 4 → 12.8 µs (523 groups, 3 units a warp), 8 → 14.4, 16 → 14.0, 32 → 14.0 (1,568 groups, 2.97 waves).
    /// HEPBNN_IMAGE_ROWS_GROUPS_PER_SM (1–64) overrides it, for measuring.</summary>
    public static int GroupsPerSm => EnvironmentSwitches.ImageRowsGroupsPerSm;

    public override string Name => "gpu.tensor-core-image-rows";
    public override string Description => "8-bit first layer on byte tensor cores: patches as 4-byte input-row chunks, a 2×2 pooling window per lane (max, then one sign test)";
    protected override GpuKernelMethod Bits => Kernel;
    protected override GpuKernelMethod Scores => Kernel; // never launched: scores output is refused
    protected override bool SupportsChannelSums => false;

    public override bool Supports(Block block) => Refusal(block) is null;

    public override string? Refusal(Block block)
    {
        if (block.Input != BlockInput.Image) return "bits input (8-bit image blocks only)";
        if (block.Output == BlockOutput.Scores) return "an 8-bit image block with scores output";
        if (block.HasChannelSums) return ChannelSumsRefusal;
        if (block.ImageWeights!.Any(w => w != 1 && w != -1)) return "image weights other than ±1";
        if (block.HasPool && block.PoolSize != 2) return "pooling windows other than 2×2";
        return GpuImageRowsData.Refusal(block);
    }

    public override IBlockRunner Prepare(Block block, int maxBatch, ExecutionResources resources)
    {
        // Rows, pooled outputs and input byte offsets are 32-bit in the kernel.
        if ((long)maxBatch * block.ConvShape.H * block.ConvShape.W >= int.MaxValue / 2 || (long)maxBatch * block.InputShape.Elements >= int.MaxValue / 2)
            throw new HepBnnException($"{Name}: batch {maxBatch} of block {block.Name} exceeds the kernel's 32-bit row and byte indices");
        return base.Prepare(block, maxBatch, resources);
    }

    protected override GpuBlockParams Specialize(GpuBlockParams p, GpuDevice gpu)
    {
        p.KWords = 0;
        p.KSteps = (p.KH * ((p.KW * p.InC + 3) / 4) + 7) / 8;
        p.PaddedK = (p.K + 63) & ~63;
        p.YSign = 0;
        p.Lanes = Math.Min(MaxWarps, gpu.Accelerator.MaxNumThreadsPerGroup / 32) * 32;
        return p;
    }

    protected override GpuBlockData CreateData(GpuDevice gpu, Block block, GpuBlockParams p)
    {
        var (weights, meta) = Build(block, p);
        return new GpuBlockData(gpu, block, p, (weights, meta, GpuBlockData.PoolAndWords(block)));
    }

    /// <summary>Units of 32 rows: 8 pooled outputs (2×2 windows) or 32 conv outputs.</summary>
    internal static long Units(GpuBlockParams p, int batch) => ((long)batch * p.OutH * p.OutW + (p.Pool == 2 ? 7 : 31)) / (p.Pool == 2 ? 8 : 32);

    protected internal override KernelConfig Launch(ref GpuBlockParams p, int batch, GpuDevice gpu)
    {
        p.Batch = batch;
        int groups = Groups(p, batch, gpu, out _);
        return new KernelConfig(new Index3D(groups, 1, 1), new Index3D(p.Lanes, 1, 1));
    }

    /// <summary>Groups of the grid: the units spread over <see cref="GroupsPerSm"/> groups per SM, each group taking
    /// <paramref name="perGroup"/> (its warps ⌈units / slots⌉ each).</summary>
    internal static int Groups(GpuBlockParams p, int batch, GpuDevice gpu, out int perGroup)
    {
        long units = Units(p, batch), warps = p.Lanes / 32;
        long slots = Math.Max(1, (long)gpu.Accelerator.NumMultiprocessors) * GroupsPerSm * warps;
        long perWarp = (units + slots - 1) / slots;
        perGroup = (int)(warps * perWarp);
        return (int)Math.Max(1, (units + perGroup - 1) / perGroup);
    }

    /// <summary>The kernel (bits output). Each warp takes units u, u + warps·groups, …; all lanes of a warp the same.</summary>
    public static void Kernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> outWords, ArrayView<uint> outHalves,
        ArrayView<int> outScores, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        GpuDependentLaunch.Wait();
        int warps = Group.DimX >> 5;
        var words = input.Cast<uint>();
        RunUnits(p, words, 0, words.IntLength - 1, Grid.IdxX * warps + (Group.IdxX >> 5), (int)Units(p, p.Batch), Grid.DimX * warps,
            outWords, weights, meta, poolAnd);
    }

    /// <summary>Units <paramref name="first"/>, first + <paramref name="step"/>, … below <paramref name="end"/> of this warp.
    /// The input's 32-bit word w is <paramref name="words"/>[w − <paramref name="origin"/>], indices clamped into
    /// [0, <paramref name="last"/>]: the whole input (origin 0) or a group's staged span of it, which holds every byte
    /// its rows' masks keep (a clamped word only feeds masked bytes).</summary>
    internal static void RunUnits(GpuBlockParams p, ArrayView<uint> words, int origin, int last, int first, int end, int step,
        ArrayView<ulong> outWords, ArrayView<ulong> weights, ArrayView<int> meta, ArrayView<ulong> poolAnd)
    {
        int lane = Group.IdxX & 31, g = lane >> 2, t = lane & 3;
        bool pooled = meta[Pooled] != 0; // the same for the whole grid
        var per = new Magic(meta, PerMagic);
        var width = new Magic(meta, WidthMagic);
        int chunks = meta[Chunks], q = meta[ChunksPerRow], table = meta[OffsetTable];
        int colClasses = meta[Uniform] != 0 ? -1 : meta[ColClasses]; // −1: every class has the same offsets (class 0)
        var c0 = new Piece(p, t, q, chunks);
        var c1 = new Piece(p, 4 + t, q, chunks);
        var c2 = new Piece(p, 8 + t, q, chunks);
        var c3 = new Piece(p, 12 + t, q, chunks);
        bool high0 = chunks > 4, two = chunks > 8, high1 = chunks > 12; // the same for the whole grid
        int perOut = p.OutH * p.OutW, total = p.Batch * perOut;
        for (int u = first; u < end; u += step)
        {
            Row r0, r1, r2, r3;
            int o0, o1 = 0, o2 = 0, o3 = 0;
            bool v0, v1 = false, v2 = false, v3 = false;
            if (pooled)
            {
                // Pooled output u·8 + g: its window's rows (0,0), (0,1) in tile 0 and (1,0), (1,1) in tile 1.
                int gq = u * 8 + g;
                v0 = gq < total;
                int n = per.Div(gq), pp = gq - n * perOut, py = width.Div(pp), px = pp - py * p.OutW;
                int oy = py * p.PoolStride, ox = px * p.PoolStride;
                o0 = n * p.OutSample + pp * p.OutWords;
                r0 = new Row(p, meta, colClasses, v0, n, oy, ox);
                r1 = new Row(p, meta, colClasses, v0, n, oy, ox + 1);
                r2 = new Row(p, meta, colClasses, v0, n, oy + 1, ox);
                r3 = new Row(p, meta, colClasses, v0, n, oy + 1, ox + 1);
            }
            else
            {
                // Conv outputs u·32 + g, +8, +16, +24: rows g and g+8 of tile 0, then of tile 1.
                r0 = Locate(p, meta, colClasses, per, width, perOut, total, u * 32 + g, out o0, out v0);
                r1 = Locate(p, meta, colClasses, per, width, perOut, total, u * 32 + 8 + g, out o1, out v1);
                r2 = Locate(p, meta, colClasses, per, width, perOut, total, u * 32 + 16 + g, out o2, out v2);
                r3 = Locate(p, meta, colClasses, per, width, perOut, total, u * 32 + 24 + g, out o3, out v3);
            }
            var a0 = Fragment(words, origin, last, p, r0, r1, c0, c1, high0);
            var b0 = Fragment(words, origin, last, p, r2, r3, c0, c1, high0);
            var a1 = two ? Fragment(words, origin, last, p, r0, r1, c2, c3, high1) : default;
            var b1 = two ? Fragment(words, origin, last, p, r2, r3, c2, c3, high1) : default;
            for (int ct = 0; ct < p.PaddedK / 64; ct++)
            {
                // The two tiles one after the other: tile 0's accumulators are reduced (pooled: to the max of its two
                // rows per channel; else stored) before tile 1's exist, so 32 accumulators are live, not 64.
                long wb = (long)ct * p.KSteps * 256 + lane;
                ulong and = poolAnd[ct];
                var x = Start(weights, table, colClasses, r0.Class, r1.Class, ct, t, p.PaddedK);
                GpuTensorCoreImage.Mma8(ref x, a0, weights, wb);
                if (two) GpuTensorCoreImage.Mma8(ref x, a1, weights, wb + 256);
                MmaTile8 half = default;
                if (pooled) half = RowMax(x);
                else
                {
                    Store(outWords, Upper(x, 0), Upper(x, 4), t, v0, o0 + ct, and);
                    Store(outWords, Lower(x, 0), Lower(x, 4), t, v1, o1 + ct, and);
                }
                var y = Start(weights, table, colClasses, r2.Class, r3.Class, ct, t, p.PaddedK);
                GpuTensorCoreImage.Mma8(ref y, b0, weights, wb);
                if (two) GpuTensorCoreImage.Mma8(ref y, b1, weights, wb + 256);
                if (pooled)
                {
                    uint lo = Pooled4(half.F0, y.F0, 0) | Pooled4(half.F1, y.F1, 8) | Pooled4(half.F2, y.F2, 16) | Pooled4(half.F3, y.F3, 24);
                    uint hi = Pooled4(half.F4, y.F4, 0) | Pooled4(half.F5, y.F5, 8) | Pooled4(half.F6, y.F6, 16) | Pooled4(half.F7, y.F7, 24);
                    Store(outWords, lo, hi, t, v0, o0 + ct, and);
                }
                else
                {
                    Store(outWords, Upper(y, 0), Upper(y, 4), t, v2, o2 + ct, and);
                    Store(outWords, Lower(y, 0), Lower(y, 4), t, v3, o3 + ct, and);
                }
            }
        }
    }

    /// <summary>Conv output <paramref name="o"/> of the batch: its row, output word index and whether it exists.</summary>
    static Row Locate(GpuBlockParams p, ArrayView<int> meta, int colClasses, Magic per, Magic width, int perOut, int total, int o, out int at, out bool valid)
    {
        valid = o < total;
        int n = per.Div(o), pp = o - n * perOut, oy = width.Div(pp), ox = pp - oy * p.OutW;
        at = n * p.OutSample + pp * p.OutWords;
        return new Row(p, meta, colClasses, valid, n, oy, ox);
    }

    /// <summary>Per channel of each fragment, the max of tile 0's two rows (in C0, C1).</summary>
    static MmaTile8 RowMax(MmaTile8 x) => new()
    {
        F0 = RowMax(x.F0), F1 = RowMax(x.F1), F2 = RowMax(x.F2), F3 = RowMax(x.F3),
        F4 = RowMax(x.F4), F5 = RowMax(x.F5), F6 = RowMax(x.F6), F7 = RowMax(x.F7),
    };

    static MmaAccumulator RowMax(MmaAccumulator x) => new() { C0 = Math.Max(x.C0, x.C2), C1 = Math.Max(x.C1, x.C3) };

    /// <summary>Sign bits of the window's max (tile 0's rows' max in <paramref name="half"/>, tile 1's rows in
    /// <paramref name="y"/>) for this lane's two channels of fragment f, at bits <paramref name="at"/>, at + 1 (before
    /// the lane's 2t shift).</summary>
    static uint Pooled4(MmaAccumulator half, MmaAccumulator y, int at)
    {
        int m0 = Math.Max(half.C0, Math.Max(y.C0, y.C2));
        int m1 = Math.Max(half.C1, Math.Max(y.C1, y.C3));
        return ((uint)m0 >> 31) << at | ((uint)m1 >> 31) << (at + 1);
    }

    /// <summary>Sign bits of row g (C0, C1) of fragments f0..f0+3, shifted to this lane's channels.</summary>
    static uint Upper(MmaTile8 a, int f0) => f0 == 0
        ? (Signs(a.F0.C0, a.F0.C1, 0) | Signs(a.F1.C0, a.F1.C1, 8) | Signs(a.F2.C0, a.F2.C1, 16) | Signs(a.F3.C0, a.F3.C1, 24))
        : (Signs(a.F4.C0, a.F4.C1, 0) | Signs(a.F5.C0, a.F5.C1, 8) | Signs(a.F6.C0, a.F6.C1, 16) | Signs(a.F7.C0, a.F7.C1, 24));

    /// <summary>The same for row g + 8 (C2, C3).</summary>
    static uint Lower(MmaTile8 a, int f0) => f0 == 0
        ? (Signs(a.F0.C2, a.F0.C3, 0) | Signs(a.F1.C2, a.F1.C3, 8) | Signs(a.F2.C2, a.F2.C3, 16) | Signs(a.F3.C2, a.F3.C3, 24))
        : (Signs(a.F4.C2, a.F4.C3, 0) | Signs(a.F5.C2, a.F5.C3, 8) | Signs(a.F6.C2, a.F6.C3, 16) | Signs(a.F7.C2, a.F7.C3, 24));

    static uint Signs(int z0, int z1, int at) => ((uint)z0 >> 31) << at | ((uint)z1 >> 31) << (at + 1);

    /// <summary>One pooled (or conv) output word from the 4 lanes of a row: sign bits S (this lane's at channels 8f + 2t,
    /// 8f + 2t + 1), OR over the quad; the bit is S for AND-pooled channels and ¬S for the others.</summary>
    static void Store(ArrayView<ulong> outWords, uint lo, uint hi, int t, bool valid, int at, ulong and)
    {
        lo <<= 2 * t;
        hi <<= 2 * t;
        lo |= Warp.ShuffleXor(lo, 1);
        hi |= Warp.ShuffleXor(hi, 1);
        lo |= Warp.ShuffleXor(lo, 2);
        hi |= Warp.ShuffleXor(hi, 2);
        if (t == 0 && valid) outWords[at] = ~((lo | (ulong)hi << 32) ^ and);
    }

    /// <summary>Accumulators of tile rows g (class <paramref name="clsA"/>) and g+8 (<paramref name="clsB"/>) set to their
    /// classes' offsets N for this lane's channels 8f + 2t, 8f + 2t + 1 of channel tile <paramref name="ct"/>; one load
    /// per channel pair for both rows when every class has the same offsets (<paramref name="colClasses"/> −1).</summary>
    static MmaTile8 Start(ArrayView<ulong> w, int table, int colClasses, int clsA, int clsB, int ct, int t, int pk)
    {
        long a = table + (long)clsA * (pk / 2) + ct * 32 + t, b = table + (long)clsB * (pk / 2) + ct * 32 + t;
        var x = default(MmaTile8);
        if (colClasses < 0)
        {
            Init(ref x.F0, w[a]);
            Init(ref x.F1, w[a + 4]);
            Init(ref x.F2, w[a + 8]);
            Init(ref x.F3, w[a + 12]);
            Init(ref x.F4, w[a + 16]);
            Init(ref x.F5, w[a + 20]);
            Init(ref x.F6, w[a + 24]);
            Init(ref x.F7, w[a + 28]);
            return x;
        }
        Init(ref x.F0, w[a], w[b]);
        Init(ref x.F1, w[a + 4], w[b + 4]);
        Init(ref x.F2, w[a + 8], w[b + 8]);
        Init(ref x.F3, w[a + 12], w[b + 12]);
        Init(ref x.F4, w[a + 16], w[b + 16]);
        Init(ref x.F5, w[a + 20], w[b + 20]);
        Init(ref x.F6, w[a + 24], w[b + 24]);
        Init(ref x.F7, w[a + 28], w[b + 28]);
        return x;
    }

    static void Init(ref MmaAccumulator c, ulong a) => Init(ref c, a, a);

    static void Init(ref MmaAccumulator c, ulong a, ulong b)
    {
        c.C0 = (int)(uint)a;
        c.C1 = (int)(uint)(a >> 32);
        c.C2 = (int)(uint)b;
        c.C3 = (int)(uint)(b >> 32);
    }

    /// <summary>A registers of rows <paramref name="ra"/> (g) and <paramref name="rb"/> (g + 8) for one step: chunks
    /// <paramref name="lo"/> and, where the step has them, <paramref name="hi"/>.</summary>
    static GpuTensorCoreImage.ImageFragment Fragment(ArrayView<uint> words, int origin, int last, GpuBlockParams p, Row ra, Row rb, Piece lo, Piece hi, bool high) =>
        new()
        {
            A0 = Chunk(words, origin, last, p, ra, lo),
            A1 = Chunk(words, origin, last, p, rb, lo),
            A2 = high ? Chunk(words, origin, last, p, ra, hi) : 0u,
            A3 = high ? Chunk(words, origin, last, p, rb, hi) : 0u,
        };

    /// <summary>The 4 bytes of chunk <paramref name="c"/> of row <paramref name="r"/>'s patch, zero where they lie in the
    /// padding or past the kernel row: two aligned words (indices clamped into the buffer: a clamped word only feeds
    /// masked bytes), shifted to the chunk's first byte.</summary>
    static uint Chunk(ArrayView<uint> words, int origin, int last, GpuBlockParams p, Row r, Piece c)
    {
        int a = r.LoE - c.E0, b = r.HiE - c.E0; // the row's valid bytes [a, b) of this chunk
        if (a < 0) a = 0;
        if (b > 4) b = 4;
        bool ok = c.Real && (uint)(r.Y0 + c.Ky) < (uint)p.InH && a < b;
        uint mask = ok ? uint.MaxValue >> (32 - 8 * (b - a)) << (8 * a) : 0u; // shifts 0..24 where ok
        int at = r.Base + c.Off, w = (at >> 2) - origin;
        int w0 = w < 0 ? 0 : w > last ? last : w, w1 = w + 1 < 0 ? 0 : w + 1 > last ? last : w + 1;
        ulong pair = words[w0] | (ulong)words[w1] << 32;
        return (uint)(pair >> (8 * (at & 3))) & mask;
    }

    /// <summary>Chunk i of the patch: kernel row, byte offset from the window's top-left pixel, first element of the
    /// kernel row's kw·C bytes; not real past the patch.</summary>
    readonly struct Piece
    {
        public readonly int Ky, Off, E0;
        public readonly bool Real;

        public Piece(GpuBlockParams p, int i, int q, int chunks)
        {
            Ky = i / q;
            E0 = 4 * (i - Ky * q);
            Off = Ky * p.InW * p.InC + E0;
            Real = i < chunks;
        }
    }

    /// <summary>Byte index of conv output (<paramref name="n"/>, <paramref name="oy"/>, <paramref name="ox"/>)'s window's
    /// top-left pixel (may lie in the padding). It grows with the output's flat index (n, oy, ox): one column more is
    /// Stride·C bytes on, the next row's first window lies past this row's last one, and the next sample's first past
    /// this sample's last.</summary>
    internal static int WindowBase(GpuBlockParams p, int n, int oy, int ox) =>
        n * p.InSample + ((oy * p.Stride - p.Pad) * p.InW + ox * p.Stride - p.Pad) * p.InC;

    /// <summary>One conv output's window: byte index of its top-left pixel (may lie in the padding), top input row (far
    /// out of range for a missing row), the valid bytes [LoE, HiE) of each kernel row, its border class (0 when
    /// <paramref name="colClasses"/> is −1: every class has the same offsets).</summary>
    readonly struct Row
    {
        public readonly int Base, Y0, LoE, HiE, Class;

        public Row(GpuBlockParams p, ArrayView<int> meta, int colClasses, bool valid, int n, int oy, int ox)
        {
            if (!valid) n = oy = ox = 0;
            int y0 = oy * p.Stride - p.Pad, x0 = ox * p.Stride - p.Pad;
            int lo = x0 < 0 ? -x0 : 0, hi = p.InW - x0;
            if (hi > p.KW) hi = p.KW;
            Base = WindowBase(p, n, oy, ox);
            Y0 = valid ? y0 : -(1 << 30);
            LoE = lo * p.InC;
            HiE = hi * p.InC;
            Class = colClasses < 0 ? 0 : meta[Classes + oy] * colClasses + meta[Classes + p.ConvH + ox];
        }
    }

    /// <summary>x / d as (x · m) >> s (<see cref="GpuImageRowsData.MagicOf"/>), for 0 ≤ x &lt; 2^31.</summary>
    internal readonly struct Magic
    {
        readonly ulong _m;
        readonly int _s;

        public Magic(ArrayView<int> meta, int at)
        {
            _m = (uint)meta[at] | (ulong)(uint)meta[at + 1] << 32;
            _s = meta[at + 2];
        }

        public int Div(int x) => (int)(((ulong)(uint)x * _m) >> _s);
    }
}
