using HepBnn.Cli.Commands;

namespace HepBnn.Tests.Cli;

/// <summary>A library error is one line and exit code 2, also when a static initialiser threw it (a bad HEPBNN_POOL_CANCEL
/// value used to end `hepbnn run` with a TypeInitializationException stack trace); anything else stays a crash.</summary>
public class CliErrorsTests
{
    [Fact]
    public void LibraryErrorInAStaticInitialiserIsOneLine()
    {
        var wrapped = new TypeInitializationException("HepBnn.Devices.CpuWorkerPool",
            new TypeInitializationException("inner", new HepBnnException("HEPBNN_POOL_CANCEL must be 1/on/true or 0/off/false (got 'x')")));
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try { Assert.Equal(2, CliErrors.Guard(() => throw wrapped)); }
        finally { Console.SetError(previous); }
        // Contains, not Equal: tests in parallel may write to the process's stderr during the redirect.
        var lines = error.ToString().Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains("hepbnn: error: HEPBNN_POOL_CANCEL must be 1/on/true or 0/off/false (got 'x')", lines);
        Assert.DoesNotContain("TypeInitialization", error.ToString());
    }

    [Fact]
    public void OtherErrorsAreNotSwallowed()
    {
        Assert.Throws<TypeInitializationException>(() => CliErrors.Guard(() => throw new TypeInitializationException("T", new InvalidOperationException("bug"))));
        Assert.Throws<InvalidOperationException>(() => CliErrors.Guard(() => throw new InvalidOperationException("bug")));
    }
}
