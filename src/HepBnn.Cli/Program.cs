using System.CommandLine;
using HepBnn.Cli.Commands;

if (Console.IsOutputRedirected) Spectre.Console.AnsiConsole.Profile.Width = 220;

var root = new RootCommand("hepbnn: binarized neural networks on CPU + CUDA GPU, mapped layer by layer for the lowest latency")
{
    InfoCommand.Create(),
    ProfileCommand.Create(),
    MapCommand.Create(),
    RunCommand.Create(),
    EvalCommand.Create(),
    ClassifyCommand.Create(),
    BenchCommand.Create(),
    DemoCommand.Create(),
    ModelFileCommands.Save(),
    ModelFileCommands.Import(),
    ModelFileCommands.Export(),
    VerifyCommand.Create(),
    TransfersCommand.Create(),
    RooflineCommand.Create(),
};
return CliErrors.Guard(() => root.Parse(args).Invoke());
