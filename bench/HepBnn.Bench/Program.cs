using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/HepBnn.Bench -- --filter '*'
// dotnet run -c Release --project bench/HepBnn.Bench -- blocks models/vgg7-cifar10.hbnn 16 cpu.simd512   (see BlockTimes)
// dotnet run -c Release --project bench/HepBnn.Bench -- plans vgg3 16 2 cpu.mt-batch,cpu.simd512,… …          (see PlanTimes)
if (args is ["blocks", .. var rest]) return HepBnn.Bench.BlockTimes.Run(rest);
if (args is ["plans", .. var planArgs]) return HepBnn.Bench.PlanTimes.Run(planArgs);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

public partial class Program;
