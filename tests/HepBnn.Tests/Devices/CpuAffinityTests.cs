using HepBnn.Devices;

namespace HepBnn.Tests.Devices;

/// <summary><see cref="CpuAffinity"/> (behind HEPBNN_PIN_WORKERS): the allowed CPUs include the one running the test,
/// and a thread pinned to another allowed CPU runs there afterwards.</summary>
public class CpuAffinityTests
{
    [Fact]
    public void PinnedThreadRunsOnItsCpu()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "CPU affinity is only implemented on Linux");
        var allowed = CpuAffinity.AllowedCpus();
        Assert.NotEmpty(allowed);
        Assert.Contains(CpuAffinity.CurrentCpu(), allowed);
        int target = allowed[^1], seen = -2;
        bool pinned = false;
        var t = new Thread(() =>
        {
            pinned = CpuAffinity.PinCurrentThread(target);
            Thread.Yield();
            seen = CpuAffinity.CurrentCpu();
        });
        t.Start();
        t.Join();
        Assert.True(pinned, $"sched_setaffinity to CPU {target} failed");
        Assert.Equal(target, seen);
        Assert.False(CpuAffinity.PinCurrentThread(-1));
    }
}
