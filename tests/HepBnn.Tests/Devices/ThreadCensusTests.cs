using HepBnn.Devices;
namespace HepBnn.Tests.Devices;

/// <summary><see cref="ThreadCensus"/>: sees this process's threads (the caller among them), a busy named worker's CPU
/// time, and summarises the pool's threads between two snapshots.</summary>
public class ThreadCensusTests
{
    [Fact]
    public void SeesTheCallerAndABusyWorker()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux() && Directory.Exists("/proc/self/task"), "ThreadCensus reads Linux's /proc/self/task");
        using var stop = new ManualResetEventSlim();
        int tid = 0;
        var worker = new Thread(() =>
        {
            tid = int.Parse(Path.GetFileName(Directory.ResolveLinkTarget("/proc/thread-self", false)!.FullName));
            while (!stop.IsSet) Thread.SpinWait(100);
        }) { Name = "census-probe", IsBackground = true }; // its own prefix: other tests' pools run beside this one
        worker.Start();
        while (Volatile.Read(ref tid) == 0) Thread.Sleep(1);
        var before = ThreadCensus.Take();
        // until the spinning thread has been charged CPU time (10 ms ticks; on a loaded 2-core machine it gets a few %)
        var after = before;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do { Thread.Sleep(50); after = ThreadCensus.Take(); }
        while (after.Threads.Single(t => t.Tid == tid).CpuTicks == before.Threads.Single(t => t.Tid == tid).CpuTicks && DateTime.UtcNow < deadline);
        stop.Set();
        worker.Join();
        Assert.Contains(after.Threads, t => t.Tid == after.CallerTid);
        var busy = Assert.Single(after.Threads, t => t.Tid == tid);
        Assert.Equal("census-probe", busy.Name);
        Assert.True(busy.CpuTicks > before.Threads.Single(t => t.Tid == tid).CpuTicks, "the spinning thread was charged no CPU time in 20 s");
        Assert.True(busy.LastCpu >= 0 && busy.LastCpu < 4096, $"last CPU {busy.LastCpu}");
        var line = ThreadCensus.Summary(before, after, "census-probe");
        Assert.NotNull(line);
        Assert.Contains("2 of the pool's (caller included)", line);
        Assert.Contains("involuntary switches", line);
    }

    [Fact]
    public void NoSummaryWithoutThreads() =>
        Assert.Null(ThreadCensus.Summary(ThreadCensus.Empty, ThreadCensus.Empty));
}
