using System.CommandLine;
using System.Runtime.CompilerServices;
using HepBnn.Formats;

namespace HepBnn.Cli.Commands;

/// <summary>
/// The one validation of every command's numeric options and output paths. An option gets its rule where it is made
/// (<see cref="Range(Option{int}, int, int)"/>, <see cref="OutputFile"/>, ...); <see cref="CliErrors.Action"/> checks every
/// rule of the invoked command before its body runs, so a bad value ends in one line and exit code 2 before any long work
/// (profiling, measuring) starts, the same way in every command.
/// </summary>
public static class OptionRules
{
    static readonly ConditionalWeakTable<Option, Action<ParseResult>> Rules = new();

    /// <summary>The bounds shared by every command.</summary>
    public const int MaxBatch = 65536, MaxRepeat = 100_000, MaxNetworks = 100_000;
    public const double MaxSeconds = 3600;

    public static Option<int> Range(Option<int> o, int min, int max)
    {
        Rules.AddOrUpdate(o, r => CheckInt(o.Name, r.GetValue(o), min, max));
        return o;
    }

    public static Option<int[]> Range(Option<int[]> o, int min, int max)
    {
        Rules.AddOrUpdate(o, r => { foreach (int v in r.GetValue(o) ?? []) CheckInt(o.Name, v, min, max); });
        return o;
    }

    /// <summary>A number of seconds (or other real quantity) in [min, max], or (min, max] when <paramref name="minExclusive"/>.</summary>
    public static Option<double> Range(Option<double> o, double min, double max, bool minExclusive = false)
    {
        Rules.AddOrUpdate(o, r =>
        {
            double v = r.GetValue(o);
            bool ok = double.IsFinite(v) && (minExclusive ? v > min : v >= min) && v <= max;
            if (!ok) throw new HepBnnException($"{o.Name} must be in {(minExclusive ? "(" : "[")}{min}, {max}] (got {v})");
        });
        return o;
    }

    /// <summary>A file the command will write: checked (not a directory, its directory exists) before any work.</summary>
    public static Option<T> OutputFile<T>(Option<T> o) where T : class?
    {
        Rules.AddOrUpdate(o, r => { if (r.GetValue(o) is string path) AtomicFile.CheckWritable(path, o.Name); });
        return o;
    }

    /// <summary>A directory the command will write into (created if its parent exists).</summary>
    public static Option<string?> OutputDirectory(Option<string?> o)
    {
        Rules.AddOrUpdate(o, r => { if (r.GetValue(o) is { } path) AtomicFile.CheckDirectory(path, o.Name); });
        return o;
    }

    static void CheckInt(string name, int v, int min, int max)
    {
        if (v < min || v > max) throw new HepBnnException($"{name} must be in {min}..{max} (got {v})");
    }

    /// <summary>Checks every rule of the options of the command that <paramref name="r"/> invokes.</summary>
    public static void Check(ParseResult r)
    {
        foreach (var o in r.CommandResult.Command.Options)
            if (Rules.TryGetValue(o, out var rule)) rule(r);
    }
}
