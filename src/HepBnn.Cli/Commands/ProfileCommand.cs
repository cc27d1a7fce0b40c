using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Planning;
using Profile = HepBnn.Planning.Profile;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn profile`: measure every block in every configuration, the transfers, and calibrate; save as JSON.</summary>
public static class ProfileCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var seed = CommonOptions.Seed();
        var batch = CommonOptions.Batch();
        var json = CommonOptions.Json();
        var device = PlanningOptions.Device();
        var budget = PlanningOptions.Budget();
        var output = OptionRules.OutputFile(new Option<string?>("--out", "-o") { Description = "write the profile JSON here" });
        var cmd = new Command("profile", "measure every block in every parallel configuration, the host↔device transfers, and calibrate on whole plans")
            { model, seed, batch, device, budget, output, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var m = CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed));
            int b = PlanningOptions.CheckBatch(r.GetValue(batch));
            using var res = new ExecutionResources();
            var profile = ProfileRunner.Run(m, b, res, PlanningOptions.From(r, device, budget, r.GetValue(seed)), quiet: false);
            if (r.GetValue(output) is { } path)
            {
                ProfileFile.Save(profile, path);
                ProfileRunner.Status($"profile written to {Markup.Escape(path)}");
            }
            if (r.GetValue(json)) { JsonOut.Write(profile); return 0; }
            BenchCommand.Print(BenchCommand.Layers(profile));
            PlanView.PrintCalibration(profile.Calibration);
            AnsiConsole.MarkupLine(profile.Transfers.Count == 0 ? "transfers: none (no accelerator on this machine)"
                : $"transfers: {profile.Transfers.Count} (boundary × device × direction), " +
                  $"{profile.Transfers.Min(t => t.MedianUs):F1}..{profile.Transfers.Max(t => t.MedianUs):F1} µs");
            AnsiConsole.MarkupLine($"total profiling time: [bold]{profile.ProfilingSeconds:F1} s[/]");
            return 0;
        }));
        return cmd;
    }
}
