using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
using HepBnn.Tests.Support;


namespace HepBnn.Tests.Runtime;

/// <summary>After warm-up, <see cref="InferenceSession.Run(ReadOnlySpan{byte}, int, Span{int})"/> allocates nothing, in every
/// CPU configuration. Counted per thread, on the calling thread and on each worker of the session's pool, because the
/// process-wide count also sees the runtime's and the test runner's own background allocations.</summary>
public class SteadyStateAllocationTests(ITestOutputHelper output)
{
    /// <summary>Every CPU configuration, with one fork-join per block and with one parallel region (CpuRegions).</summary>
    public static TheoryData<string, bool> CpuConfigs()
    {
        var data = new TheoryData<string, bool>();
        foreach (var c in ConfigurationRegistry.Cpu) { data.Add(c.Name, false); data.Add(c.Name, true); }
        return data;
    }

    /// <summary>Image layer, pooling before and after BN, a conv with several words, dense layers, scores with BN.</summary>
    static BnnModel Model() => new ModelBuilder(new Shape3(8, 8, 3), 4) { NegativeGammaFraction = 0.3 }
        .InputConv(70, normalize: true).Pool().BnSign().Conv(130).BnSign().Pool(2, 1).Flatten().Dense(65).BnSign().Dense(10).ScoreBn().Build("alloc");

    /// <summary>Bytes allocated so far by each pool worker (index 0, the caller, excluded): one work item per participant,
    /// each waiting until all have arrived, so every worker takes exactly one.</summary>
    sealed class WorkerAllocations(CpuWorkerPool pool) : IParallelWork
    {
        readonly long[] _bytes = new long[pool.Threads];
        int _arrived;

        public void Execute(int index) => throw new InvalidOperationException("expected the worker id");

        public void Execute(int index, int worker)
        {
            _bytes[worker] = GC.GetAllocatedBytesForCurrentThread();
            Interlocked.Increment(ref _arrived);
            while (Volatile.Read(ref _arrived) < pool.Threads) Thread.SpinWait(10);
        }

        public long Total()
        {
            _arrived = 0;
            pool.For(pool.Threads, this);
            long sum = 0;
            for (int w = 1; w < _bytes.Length; w++) sum += _bytes[w];
            return sum;
        }
    }

    [Theory]
    [MemberData(nameof(CpuConfigs))]
    public void RunAllocatesNothingAfterWarmUp(string configName, bool regions)
    {
        var model = Model();
        var blocks = BlockCompiler.Compile(model);
        var config = ConfigurationRegistry.Find(configName);
        CpuSupport.SkipUnlessRunsHere(config);
        // A configuration for some blocks only (cpu.mt-dense-pairs: dense bit layers; cpu.mt-pixel-words and
        // cpu.mt-pixels-split: bit layers of several output words) runs those, cpu.mt-rows the rest.
        Assert.True(blocks.Count(config.Supports) >= (configName is "cpu.mt-dense-pairs" or "cpu.mt-pixel-words" or "cpu.mt-pixels-split" ? 1 : blocks.Count), $"{configName} should support the blocks of {model.Name} it is for");
        var others = ConfigurationRegistry.Find("cpu.mt-rows");
        const int batch = 3, runs = 300;
        using var res = new ExecutionResources(2);
        using var session = new InferenceSession(model, blocks, blocks.Select(b => config.Supports(b) ? config : others).ToArray(), new SessionOptions { MaxBatch = batch, CpuRegions = regions }, res);
        var workers = new WorkerAllocations(res.CpuWorkers);
        var images = ModelZoo.RandomImages(model.InputShape, batch, 1);
        var scores = new int[batch * session.ScoresPerImage];
        int bytes = (int)model.InputShape.Elements;
        void Runs(int count)
        {
            for (int i = 0; i < count; i++) session.Run(images.AsSpan(0, (i % batch + 1) * bytes), i % batch + 1, scores);
        }
        Runs(100); // warm-up
        workers.Total();
        // Up to 3 windows of 300 runs: a per-run allocation shows in every window, while a one-time lazy allocation of
        // the runtime on a rarely taken path (a worker's first sleep on a loaded machine) shows in one window only.
        long allocated = -1;
        for (int window = 0; window < 3 && allocated != 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread() + workers.Total();
            Runs(runs);
            allocated = GC.GetAllocatedBytesForCurrentThread() + workers.Total() - before;
            output.WriteLine($"{configName} (regions {regions}), window {window}: {allocated} bytes over {runs} runs");
        }
        Assert.Equal(regions ? 1 : 0, session.CpuSegments);
        Assert.True(allocated == 0, $"{configName} (regions {regions}): {allocated} bytes allocated over {runs} steady-state runs");
    }
}
