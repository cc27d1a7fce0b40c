using System.Diagnostics;

namespace HepBnn.Tests.Cli;

/// <summary>Runs the hepbnn command (built next to the tests) as a child process with redirected streams, as a user's
/// script would: exit code, stdout and stderr apart. Bounded: a command that outlives its timeout is killed and fails.</summary>
internal static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr, TimeSpan Elapsed)
    {
        public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F1} s\nstdout: {Stdout}\nstderr: {Stderr}";
    }

    static string Dll => Path.Combine(AppContext.BaseDirectory, "hepbnn.dll");

    public static Result Run(string args, TimeSpan? timeout = null, IDictionary<string, string>? env = null, string? workingDirectory = null)
    {
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var psi = new ProcessStartInfo(dotnet, $"\"{Dll}\" {args}")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetTempPath(),
        };
        psi.Environment["DOTNET_gcServer"] = "0";
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        var clock = Stopwatch.StartNew();
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(60)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"hepbnn {args} did not finish within {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds} s");
        }
        p.WaitForExit();
        return new Result(p.ExitCode, stdout.Result, stderr.Result, clock.Elapsed);
    }

    /// <summary>Asserts the one-line error contract: exit code 2, one line on stderr naming <paramref name="expected"/>,
    /// no stack trace, nothing on stdout.</summary>
    public static Result Refused(string args, string expected, IDictionary<string, string>? env = null)
    {
        var r = Run(args, env: env);
        Assert.True(r.ExitCode == 2, $"hepbnn {args}: expected exit code 2\n{r}");
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("hepbnn: error: "), $"hepbnn {args}: expected one error line\n{r}");
        Assert.Contains(expected, r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
        Assert.True(r.Stdout.Trim().Length == 0, $"hepbnn {args}: stdout should be empty\n{r}");
        return r;
    }
}
