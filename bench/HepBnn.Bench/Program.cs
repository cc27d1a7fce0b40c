using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/HepBnn.Bench -- --filter '*'
// dotnet run -c Release --project bench/HepBnn.Bench -- blocks models/vgg7-cifar10.hbnn 16 cpu.simd512   (see BlockTimes)
if (args is ["blocks", .. var rest]) return HepBnn.Bench.BlockTimes.Run(rest);
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

public partial class Program;
