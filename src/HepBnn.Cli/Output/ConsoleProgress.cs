using Spectre.Console;

namespace HepBnn.Cli.Output;

/// <summary>A spinner with a status line on a terminal; silence when output goes to a file (no line per update).</summary>
public static class ConsoleProgress
{
    public static T Run<T>(string title, Func<Action<string>, T> body) =>
        Console.IsOutputRedirected || Console.IsErrorRedirected
            ? body(_ => { })
            : AnsiConsole.Status().Start(title, ctx => body(s => ctx.Status(s)));
}
