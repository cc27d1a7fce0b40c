using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Planning;
using Profile = HepBnn.Planning.Profile;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn map`: the minimum-latency configuration per block (exact dynamic program), saved as a plan file.</summary>
public static class MapCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var seed = CommonOptions.Seed();
        var batch = CommonOptions.Batch();
        var json = CommonOptions.Json();
        var device = PlanningOptions.Device();
        var budget = PlanningOptions.Budget();
        var profile = PlanningOptions.Profile();
        var top = PlanningOptions.Top(max: 1000);
        var output = OptionRules.OutputFile(new Option<string>("--out", "-o") { Description = "where to write the plan JSON", Required = true });
        var cmd = new Command("map", "find the fastest configuration per block (exact, transfers included) and write the plan")
            { model, seed, batch, profile, device, budget, top, output, json };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var m = CommonOptions.LoadModel(r.GetValue(model)!, r.GetValue(seed));
            int b = PlanningOptions.CheckBatch(r.GetValue(batch));
            int k = r.GetValue(top);
            using var res = new ExecutionResources();
            bool quiet = r.GetValue(json);
            var options = PlanningOptions.From(r, device, budget, r.GetValue(seed));
            var profilePath = r.GetValue(profile);
            var early = profilePath is null ? GpuFallback.BeforePlanning(res, r.GetValue(device)!) : null;
            var (p, fallback) = GpuFallback.Run(include => PlanningOptions.GetProfile(profilePath, m, b, res,
                include is null ? options : options with { Include = include }, quiet), early);
            var plans = Planner.Map(p, k);
            PlanFile.Save(plans[0], r.GetValue(output)!);
            if (quiet) { JsonOut.Write(new { plan = plans[0], top = plans, fallback }); return 0; }
            PlanView.Print(plans[0]);
            PlanView.PrintTop(plans);
            PlanView.PrintCalibration(p.Calibration);
            AnsiConsole.MarkupLine($"plan written to {Markup.Escape(r.GetValue(output)!)}");
            return 0;
        }));
        return cmd;
    }
}
