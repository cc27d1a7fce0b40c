using HepBnn.Devices;
using ILGPU.Runtime;
using ILGPU;

namespace HepBnn.Ops.Gpu;

/// <summary>
/// The 8-bit image block on the 1-bit tensor cores. With ±1 weights as bits β (1 for +1) and pixels p = Σ_b 2^b·p_b,
/// Σ w·p = Σ_b 2^b·(2·popc(β ∧ p_b) − popc(p_b)). A first kernel writes each conv output pixel's patch as 8 bit planes
/// (MSB first, [N][ConvH][ConvW][8][PlaneWords], zero bits at padding taps: they add nothing, as in the reference's raw
/// sums); <see cref="GpuTensorCore"/>'s kernel then reads that as a 1×1 conv with K plane-major, the weights' bits
/// repeated per plane, and doubles its accumulators between planes (Horner), so it ends with 2·AND − popc(a) = the raw
/// integer sum, thresholded per border class like the CPU kernels. Two launches on the session stream; the planes
/// buffer is allocated once at Prepare for the largest batch.
/// </summary>
public sealed class GpuTensorCoreImage : IBlockRunner
{
    /// <summary>Largest planes buffer (bytes) Prepare allocates.</summary>
    public const long MaxPlanesBytes = 1L << 31;

    readonly GpuTensorCore _config;
    readonly GpuDevice _gpu;
    readonly GpuBlockData _data;
    readonly GpuKernelLauncher _kernel;
    readonly Action<AcceleratorStream, KernelConfig, GpuBlockParams, ArrayView<ulong>, ArrayView<ulong>> _planesKernel;
    readonly GpuBlockParams _planesParams;
    readonly GpuBuffer _planes;
    readonly int _maxBatch;

    internal GpuTensorCoreImage(GpuTensorCore config, GpuDevice gpu, Block block, GpuBlockData data, GpuKernelLauncher kernel, int maxBatch)
    {
        _config = config; _gpu = gpu; _data = data; _kernel = kernel; _maxBatch = maxBatch;
        try
        {
            _planesKernel = gpu.Kernel<Action<AcceleratorStream, KernelConfig, GpuBlockParams, ArrayView<ulong>, ArrayView<ulong>>>(
                $"{config.Name}/planes", a => a.LoadKernel<GpuBlockParams, ArrayView<ulong>, ArrayView<ulong>>(PlanesKernel));
            _planesParams = GpuBlockParams.From(block);
            _planesParams.PlaneWords = data.Params.PlaneWords;
            long words = (long)maxBatch * data.Params.InSample;
            if (words * 8 > MaxPlanesBytes)
                throw new HepBnnException($"{config.Name}: block {block.Name} at batch {maxBatch} needs {words * 8 >> 20} MiB of bit planes (limit {MaxPlanesBytes >> 20} MiB)");
            _planes = new GpuBuffer(gpu, Math.Max(1, words));
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    public Block Block => _data.Block;
    public IKernelConfiguration Configuration => _config;

    public void Run(TensorBuffer input, TensorBuffer output, int batch)
    {
        if (input is not GpuBuffer gin || output is not GpuBuffer gout || gin.Gpu != _gpu || gout.Gpu != _gpu)
            throw new HepBnnException($"{_config.Name} runs on buffers of its GPU; the plan must copy data to the GPU before block {Block.Name}");
        if (batch < 1 || batch > _maxBatch || gin.Words < Block.InputBufferWords(batch) || gout.Words < Block.OutputBufferWords(batch))
            throw new HepBnnException($"{_config.Name}: buffers too small for block {Block.Name} at batch {batch} (prepared for {_maxBatch})");
        var pp = _planesParams;
        var p = _data.Params;
        long threads = (long)pp.ConvH * pp.ConvW * pp.PlaneWords;
        int group = _gpu.MaxGroupSize; // 128 on CUDA, 64 on ILGPU's CPU accelerator
        var planesLaunch = new KernelConfig(new Index3D(checked((int)((threads + group - 1) / group)), batch, 1), new Index3D(group, 1, 1));
        var launch = _config.Launch(ref p, batch, _gpu);
        var o = gout.View;
        try
        {
            _planesKernel(_gpu.Stream, planesLaunch, pp, gin.View, _planes.View);
            _kernel(_gpu.Stream, launch, p, _planes.View, o, o.Cast<uint>(), o.Cast<int>(), _data.Weights, _data.Meta, _data.PoolAnd);
        }
        catch (Exception e) when (GpuFaults.IsDeviceFault(e)) { throw GpuFaults.Wrap(e, $"launching {_config.Name} for block {Block.Name} (batch {batch})", _gpu); }
    }

    /// <summary>One thread per (sample, conv pixel, plane word): 64 patch elements ([ky][kx][c] order, the weights' order)
    /// split into their 8 bits, stored MSB plane first.</summary>
    static void PlanesKernel(GpuBlockParams p, ArrayView<ulong> input, ArrayView<ulong> planes)
    {
        int t = Grid.IdxX * Group.DimX + Group.IdxX, n = Grid.IdxY, pw = p.PlaneWords, pixels = p.ConvH * p.ConvW;
        if (t >= pixels * pw) return;
        int pix = t / pw, w = t - pix * pw, oy = pix / p.ConvW, ox = pix - oy * p.ConvW, c = p.InC;
        int iy0 = oy * p.Stride - p.Pad, ix0 = ox * p.Stride - p.Pad, e0 = w * 64, taps = p.KH * p.KW * c;
        int e1 = e0 + 64 < taps ? e0 + 64 : taps;
        long sample = (long)n * p.InSample;
        ulong b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0;
        for (int e = e0; e < e1; e++)
        {
            int tap = e / c, ch = e - tap * c, ky = tap / p.KW, kx = tap - ky * p.KW, iy = iy0 + ky, ix = ix0 + kx;
            if (iy < 0 || iy >= p.InH || ix < 0 || ix >= p.InW) continue;
            ulong v = (ulong)GpuBlockMath.ImageByte(input, sample + ((long)iy * p.InW + ix) * c + ch);
            int j = e - e0;
            b0 |= (v & 1) << j;
            b1 |= ((v >> 1) & 1) << j;
            b2 |= ((v >> 2) & 1) << j;
            b3 |= ((v >> 3) & 1) << j;
            b4 |= ((v >> 4) & 1) << j;
            b5 |= ((v >> 5) & 1) << j;
            b6 |= ((v >> 6) & 1) << j;
            b7 |= ((v >> 7) & 1) << j;
        }
        long o = ((long)n * pixels + pix) * 8 * pw + w;
        planes[o] = b7;
        planes[o + pw] = b6;
        planes[o + 2 * pw] = b5;
        planes[o + 3 * pw] = b4;
        planes[o + 4 * pw] = b3;
        planes[o + 5 * pw] = b2;
        planes[o + 6 * pw] = b1;
        planes[o + 7 * pw] = b0;
    }

    /// <summary>Each channel's K row for the MMA: its weight bits (β = 1 for +1, [ky][kx][c] order) in each of the 8
    /// planes' PlaneSteps·4 words, zero-padded.</summary>
    internal static ulong[] WeightRows(Block block, GpuBlockParams p)
    {
        var w = block.ImageWeights!;
        int k = block.OutChannels, taps = block.KernelH * block.KernelW * block.InputShape.C, stride = 4 * p.PlaneSteps;
        var rows = new ulong[(long)k * p.KWords];
        for (int ch = 0; ch < k; ch++)
            for (int e = 0; e < taps; e++)
                if (w[(long)ch * taps + e] > 0)
                    for (int plane = 0; plane < 8; plane++)
                        rows[(long)ch * p.KWords + plane * stride + (e >> 6)] |= 1UL << (e & 63);
        return rows;
    }

    public void Dispose()
    {
        _planes.Dispose();
        _data.Dispose();
    }
}
