using System.CommandLine;
using HepBnn.Cli.Output;
using HepBnn.Devices;
using HepBnn.Ops;
using Spectre.Console;

namespace HepBnn.Cli.Commands;

/// <summary>`hepbnn info`: this machine's CPU, SIMD features, GPUs and the configurations available.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var jsonOut = CommonOptions.JsonOut();
        var gpu = CommonOptions.Gpu();
        var cmd = new Command("info", "show the CPU, its SIMD features, CUDA GPUs and the available parallel configurations") { gpu, json, jsonOut };
        cmd.SetAction(CliErrors.Action(r =>
        {
            var selection = CommonOptions.GpuSelection(r.GetValue(gpu)!);
            var platform = PlatformInfo.Detect();
            // what would play the GPU in a session with this --gpu (e.g. none, or ILGPU's CPU accelerator)
            string sessionGpu;
            using (var res = new ExecutionResources(cpuThreads: 1, gpu: selection))
                sessionGpu = res.Gpu is { } g ? g.Description : $"none ({res.GpuProblem ?? "no GPU"})";
            var configurations = ConfigurationRegistry.Describe(gpu: platform.Gpus.Count > 0);
            var document = new { platform.Cpu, platform.Gpus, Configurations = configurations, platform.GpuDetails, platform.GpuStatus, platform.Fingerprint, gpuSelection = r.GetValue(gpu), sessionGpu };
            JsonOut.WriteFile(document, r.GetValue(jsonOut));
            if (r.GetValue(json)) { JsonOut.Write(document); return 0; }
            var t = new Table().AddColumn("").AddColumn("");
            t.AddRow("CPU", Markup.Escape(platform.Cpu.Model));
            t.AddRow("logical cores", platform.Cpu.LogicalCores.ToString());
            t.AddRow("SIMD", Markup.Escape(platform.Cpu.SimdSummary));
            t.AddRow("GPUs", platform.GpuDetails.Count == 0 ? Markup.Escape(platform.GpuStatus)
                : Markup.Escape(string.Join("\n", platform.GpuDetails.Select(g => $"{g.Index}: {g.Summary}"))));
            t.AddRow($"GPU in sessions (--gpu {Markup.Escape(r.GetValue(gpu)!)})", Markup.Escape(sessionGpu));
            t.AddRow("configurations", Markup.Escape(string.Join("\n", configurations)));
            AnsiConsole.Write(t);
            return 0;
        }));
        return cmd;
    }
}
