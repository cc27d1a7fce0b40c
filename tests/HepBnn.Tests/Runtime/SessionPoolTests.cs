using System.Diagnostics;
using HepBnn.Model;
using HepBnn.Reference;
using HepBnn.Runtime;


namespace HepBnn.Tests.Runtime;

/// <summary><see cref="SessionPool"/> under many concurrent callers, every result checked against the sequential answer.</summary>
public class SessionPoolTests(ITestOutputHelper output)
{
    /// <summary>A tiny network with three blocks, so that a run takes microseconds.</summary>
    static BnnModel Tiny(int seed) => new ModelBuilder(new Shape3(5, 5, 1), seed) { NegativeGammaFraction = 0.4 }
        .InputConv(8).BnSign().Conv(16).Pool().BnSign().Flatten().Dense(10).Build("tiny");

    /// <summary>Mixes a single-thread block (runs in parallel on the callers' threads) with multithreaded ones (which take
    /// turns on the worker pool the sessions share).</summary>
    static readonly string[] Mixed = ["cpu.scalar", "cpu.mt-batch", "cpu.mt-rows"];

    [Fact]
    public void SixteenThreadsTimesTenThousandRunsMatchTheSequentialAnswers()
    {
        const int threads = 16, runsPerThread = 10_000, inputs = 32, batch = 2;
        var model = Tiny(5);
        int classes = model.NumClasses;
        var images = ModelZoo.RandomImages(model.InputShape, inputs * batch, seed: 9);
        int imageBytes = (int)(batch * model.InputShape.Elements);
        // Sequential answers from one plain session, cross-checked against the reference.
        var expected = new int[inputs][];
        using (var single = new InferenceSession(model, "cpu.scalar", new SessionOptions { MaxBatch = batch }))
            for (int i = 0; i < inputs; i++)
            {
                expected[i] = new int[batch * classes];
                single.Run(images.AsSpan(i * imageBytes, imageBytes), batch, expected[i]);
                for (int n = 0; n < batch; n++)
                {
                    var r = ReferenceEngine.RawScores(model, images.AsSpan(i * imageBytes + n * (int)model.InputShape.Elements, (int)model.InputShape.Elements));
                    Assert.Equal(r.Select(v => (int)v), expected[i].Skip(n * classes).Take(classes));
                }
            }

        foreach (var assignment in new[] { Mixed })
        {
            using var pool = new SessionPool(model, assignment, sessions: 4, new SessionOptions { MaxBatch = batch, CpuThreads = 2 });
            Assert.True(pool.SharesResources);
            int mismatches = 0;
            string? first = null;
            var sw = Stopwatch.StartNew();
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                var scores = new int[batch * classes];
                for (int run = 0; run < runsPerThread; run++)
                {
                    int i = (t * 7 + run * 13) % inputs;
                    pool.Run(images.AsSpan(i * imageBytes, imageBytes), batch, scores);
                    if (!scores.AsSpan().SequenceEqual(expected[i]))
                    {
                        Interlocked.Increment(ref mismatches);
                        Interlocked.CompareExchange(ref first, $"thread {t} run {run} input {i}: [{string.Join(",", scores)}] vs [{string.Join(",", expected[i])}]", null);
                    }
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            Assert.True(workers.All(w => w.Join(TimeSpan.FromMinutes(2))), "stress test did not finish (deadlock?)");
            sw.Stop();
            output.WriteLine($"{string.Join(",", assignment)}: {threads} threads x {runsPerThread} runs (batch {batch}) on {Environment.ProcessorCount} cores, " +
                             $"{pool.Count} sessions: {sw.Elapsed.TotalSeconds:F2} s, {threads * runsPerThread / sw.Elapsed.TotalSeconds:F0} runs/s, {mismatches} mismatches");
            Assert.True(mismatches == 0, $"{mismatches} results differ from the sequential answer; first: {first}");
        }
    }

    [Fact]
    public void RunAfterDisposeThrowsAndDisposeWaitsForRunsInFlight()
    {
        var model = Tiny(2);
        var pool = new SessionPool(model, "cpu.mt-rows", sessions: 2);
        var images = ModelZoo.RandomImages(model.InputShape, 1, 1);
        var scores = new int[model.NumClasses];
        var runner = new Thread(() =>
        {
            try { for (int i = 0; i < 100_000; i++) pool.Run(images, 1, scores); }
            catch (ObjectDisposedException) { }
        });
        runner.Start();
        Thread.Sleep(50);
        pool.Dispose();
        Assert.True(runner.Join(TimeSpan.FromSeconds(30)));
        Assert.Throws<ObjectDisposedException>(() => pool.Run(images, 1, scores));
    }

    [Fact]
    public void BadArgumentsGiveOneClearException()
    {
        var model = Tiny(3);
        Assert.Throws<HepBnnException>(() => new SessionPool(model, "cpu.scalar", sessions: 0));
        Assert.Throws<HepBnnException>(() => new SessionPool(model, "no.such-config", sessions: 2));
        using var pool = new SessionPool(model, "cpu.scalar", sessions: 2);
        var e = Assert.Throws<HepBnnException>(() => pool.Run(new byte[3], 1, new int[model.NumClasses]));
        Assert.Contains("input has 3 bytes", e.Message);
        // the failed run returned its session: the pool still serves both
        var images = ModelZoo.RandomImages(model.InputShape, 1, 1);
        for (int i = 0; i < 3; i++) pool.Run(images, 1, new int[model.NumClasses]);
    }
}
