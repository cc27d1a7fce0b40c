using HepBnn;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>Turns the library's own errors into one clear line and exit code 2; anything else is a bug and says so.</summary>
public static class CliErrors
{
    public static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (Library(e) is { } error)
        {
            Console.Error.WriteLine($"hepbnn: error: {error.Message}");
            return 2;
        }
    }

    /// <summary>The library's own error, also where a static initialiser threw it (the engine's own switches no longer do:
    /// Devices.EnvironmentSwitches reports bad values when a session is created; this stays as a guard).</summary>
    internal static HepBnnException? Library(Exception e)
    {
        while (e is TypeInitializationException { InnerException: { } inner }) e = inner;
        return e as HepBnnException;
    }

    /// <summary>Wraps a command action so that library errors print cleanly (System.CommandLine otherwise prints a stack trace).</summary>
    /// Every option rule of the command (<see cref="OptionRules"/>) is checked first.
    public static Func<System.CommandLine.ParseResult, int> Action(Func<System.CommandLine.ParseResult, int> body) => r => Guard(() =>
    {
        OptionRules.Check(r);
        return body(r);
    });
}
