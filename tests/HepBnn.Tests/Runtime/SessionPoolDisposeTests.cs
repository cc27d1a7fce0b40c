using Xunit;
using System.Diagnostics;
using HepBnn.Model;
using HepBnn.Runtime;

namespace HepBnn.Tests.Runtime;

/// <summary><see cref="SessionPool.Dispose"/> while other threads hammer the pool: every round must end (callers get
/// <see cref="ObjectDisposedException"/>, Dispose returns) within a deadline. Bounded: a regression fails on a timeout
/// instead of hanging the test run (the worker threads are background threads).</summary>
public class SessionPoolDisposeTests(ITestOutputHelper output)
{
    static BnnModel Tiny(int seed) => new ModelBuilder(new Shape3(5, 5, 1), seed)
        .InputConv(8).BnSign().Flatten().Dense(10).Build("tiny");

    [Fact]
    public void DisposeUnderLoadNeverHangs()
    {
        const int rounds = 60, threads = 8, sessions = 2;
        var model = Tiny(4);
        var images = ModelZoo.RandomImages(model.InputShape, 1, 1);
        var rng = new Random(17);
        var total = Stopwatch.StartNew();
        int disposedSeen = 0, runs = 0, done = 0;
        // at most `rounds` rounds and about 8 s (a loaded machine does fewer rounds; each round's hang check stands)
        for (int round = 0; round < rounds && (round < 5 || total.Elapsed < TimeSpan.FromSeconds(8)); round++, done++)
        {
            var pool = new SessionPool(model, "cpu.scalar", sessions, new SessionOptions { MaxBatch = 1 });
            var failures = new List<string>();
            using var started = new CountdownEvent(threads);
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                var scores = new int[model.NumClasses];
                started.Signal();
                try
                {
                    while (true) { pool.Run(images, 1, scores); Interlocked.Increment(ref runs); }
                }
                catch (ObjectDisposedException) { Interlocked.Increment(ref disposedSeen); }
                catch (Exception e) { lock (failures) failures.Add($"thread {t}: {e.GetType().Name}: {e.Message}"); }
            }) { IsBackground = true }).ToList();
            workers.ForEach(w => w.Start());
            Assert.True(started.Wait(TimeSpan.FromSeconds(5)), $"round {round}: workers did not start");
            Thread.Sleep(rng.Next(0, 4));
            // every third round two threads dispose at once
            var disposers = Enumerable.Range(0, round % 3 == 0 ? 2 : 1).Select(_ => Task.Run(pool.Dispose)).ToArray();
            Assert.True(Task.WaitAll(disposers, TimeSpan.FromSeconds(3)), $"round {round}: Dispose did not return within 3 s (hang)");
            foreach (var w in workers)
                Assert.True(w.Join(TimeSpan.FromSeconds(3)), $"round {round}: a caller still blocked 3 s after Dispose (hang)");
            Assert.True(failures.Count == 0, $"round {round}: {string.Join("; ", failures)}");
            Assert.Throws<ObjectDisposedException>(() => pool.Run(images, 1, new int[model.NumClasses]));
        }
        output.WriteLine($"{done} rounds of dispose under load ({threads} threads, {sessions} sessions): {runs} runs, " +
                         $"{disposedSeen} callers ended by ObjectDisposedException, {total.Elapsed.TotalSeconds:F2} s");
        Assert.Equal(done * threads, disposedSeen);
    }
}
