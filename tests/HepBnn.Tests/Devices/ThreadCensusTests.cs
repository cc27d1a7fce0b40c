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
        }) { Name = "hepbnn-cpu-census", IsBackground = true };
        worker.Start();
        while (Volatile.Read(ref tid) == 0) Thread.Sleep(1);
        var before = ThreadCensus.Take();
        Thread.Sleep(300);
        var after = ThreadCensus.Take();
        stop.Set();
        worker.Join();
        Assert.Contains(after.Threads, t => t.Tid == after.CallerTid);
        var busy = Assert.Single(after.Threads, t => t.Tid == tid);
        Assert.StartsWith("hepbnn-cpu-cens", busy.Name); // the kernel keeps 15 characters of a thread's name
        Assert.True(busy.CpuTicks > before.Threads.Single(t => t.Tid == tid).CpuTicks, "the spinning thread's CPU time did not grow");
        Assert.True(busy.LastCpu >= 0 && busy.LastCpu < 4096, $"last CPU {busy.LastCpu}");
        var line = ThreadCensus.Summary(before, after);
        Assert.NotNull(line);
        Assert.Contains("2 of the pool's (caller included), 1 busy on 1 distinct CPUs", line);
    }

    [Fact]
    public void NoSummaryWithoutThreads() =>
        Assert.Null(ThreadCensus.Summary(ThreadCensus.Empty, ThreadCensus.Empty));
}
