using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Ops;
using HepBnn.Ops.Gpu;
using HepBnn.Reference;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn verify`: every configuration available here × every block of random networks, vgg3 and vgg7,
/// bit-exact against the reference. Exit code 1 on any mismatch. This is how a GPU machine without an SDK is checked.</summary>
public static class VerifyCommand
{
    public static Command Create()
    {
        var networks = OptionRules.Range(new Option<int>("--networks", "-n") { Description = "random networks to check (each at batch 1 and 3)", DefaultValueFactory = _ => 30 }, 0, OptionRules.MaxNetworks);
        var seed = CommonOptions.Seed();
        var device = new Option<string>("--device") { Description = "cpu, gpu or all", DefaultValueFactory = _ => "all" };
        var gpu = CommonOptions.Gpu();
        var json = CommonOptions.Json();
        var jsonOut = CommonOptions.JsonOut();
        var skipZoo = new Option<bool>("--skip-zoo") { Description = "check only the random networks, not vgg3 and vgg7" };
        var only = new Option<string[]>("--configs")
        {
            Description = "check only these configurations (default: every one available here; the constant-shape twins, gpu.*-const, only when named or with HEPBNN_CONST_SHAPES=1 set: each block case compiles one)",
            AllowMultipleArgumentsPerToken = true,
        };
        var cmd = new Command("verify", "check every configuration bit-exact against the reference implementation") { networks, seed, device, gpu, skipZoo, only, json, jsonOut };
        cmd.SetAction(CliErrors.Action(r =>
        {
            int n = r.GetValue(networks);
            var filter = BenchCommand.DeviceFilter(r.GetValue(device)!);
            using var res = new ExecutionResources(gpu: CommonOptions.GpuSelection(r.GetValue(gpu)!));
            var named = r.GetValue(only) is { Length: > 0 } list ? list.Select(name => ConfigurationRegistry.Find(name).Name).ToHashSet() : null; // unknown names: one clear error
            var available = ConfigurationRegistry.All.Where(c => filter(c) && res.TryOpen(c.Device)).ToList();
            var configs = available.Where(c => named?.Contains(c.Name) ?? GpuConstantShapes.CheckedByDefault(c)).ToList();
            var leftOut = named is null ? available.Where(c => !GpuConstantShapes.CheckedByDefault(c)).ToList() : [];
            var models = Verifier.DefaultModels(n, r.GetValue(seed), zoo: !r.GetValue(skipZoo));
            var report = ConsoleProgress.Run("verifying", status => Verifier.Run(res, configs, models, s => status($"verifying {s}")));
            JsonOut.WriteFile(report, r.GetValue(jsonOut));
            if (r.GetValue(json)) JsonOut.Write(report);
            else
            {
                Print(report);
                if (leftOut.Count > 0)
                    AnsiConsole.MarkupLine($"[grey]not checked: {leftOut.Count} constant-shape twins (each block case compiles one); `--configs {Markup.Escape(string.Join(' ', leftOut.Select(c => c.Name)))}` or HEPBNN_CONST_SHAPES=1 checks them[/]");
            }
            return report.Passed ? 0 : 1;
        }));
        return cmd;
    }

    static void Print(VerificationReport report)
    {
        AnsiConsole.MarkupLine($"GPU: {Markup.Escape(report.Gpu)}; {report.Models} models, {report.Cases} block cases");
        var t = new Table().AddColumn("configuration").AddColumn("device").AddColumn(new TableColumn("blocks checked").RightAligned())
            .AddColumn(new TableColumn("mismatches").RightAligned()).AddColumn("first mismatch");
        foreach (var x in report.Results)
            t.AddRow(x.Configuration, x.Device.ToString(), x.BlocksChecked.ToString(),
                x.Mismatches == 0 ? "[green]0[/]" : $"[red]{x.Mismatches}[/]",
                x.FirstMismatch is { } m ? Markup.Escape(m) : x.Note is { } note ? $"[grey]{Markup.Escape(note)}[/]" : "");
        AnsiConsole.Write(t);
        AnsiConsole.MarkupLine(report.Passed ? "[green]all configurations bit-exact[/]" : "[red]MISMATCHES FOUND[/]");
    }
}
