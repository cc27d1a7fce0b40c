using BenchmarkDotNet.Attributes;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Ops.Cpu;
using HepBnn.Runtime;

namespace HepBnn.Bench;

/// <summary>The XOR-popcount inner loop in each flavour, over the word counts vgg layers use.</summary>
public class XorPopCountBenchmarks
{
    ulong[] _a = [], _b = [];

    [Params(18, 72, 128, 1024)]
    public int Words { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var r = new Random(1);
        _a = Enumerable.Range(0, Words).Select(_ => (ulong)r.NextInt64()).ToArray();
        _b = Enumerable.Range(0, Words).Select(_ => (ulong)r.NextInt64()).ToArray();
    }

    [Benchmark(Baseline = true)] public int Scalar() => ScalarXorPopCount.Count(ref _a[0], ref _b[0], Words);
    [Benchmark] public int Avx2() => Avx2XorPopCount.Count(ref _a[0], ref _b[0], Words);
    [Benchmark] public int Avx512() => Avx512XorPopCount.IsSupported ? Avx512XorPopCount.Count(ref _a[0], ref _b[0], Words) : 0;
}

/// <summary>Each vgg3 block in each CPU configuration at batch 1.</summary>
public class Vgg3BlockBenchmarks
{
    ExecutionResources _res = null!;
    IBlockRunner _runner = null!;
    HostBuffer _in = null!, _out = null!;

    [ParamsSource(nameof(Configs))] public string Config { get; set; } = "";
    [Params(0, 1, 2, 3)] public int Block { get; set; }
    public static IEnumerable<string> Configs => ConfigurationRegistry.Cpu.Select(c => c.Name);

    [GlobalSetup]
    public void Setup()
    {
        var block = BlockCompiler.Compile(ModelZoo.Vgg3())[Block];
        _res = new ExecutionResources();
        _runner = ConfigurationRegistry.Find(Config).Prepare(block, 1, _res);
        _in = new HostBuffer(block.InputBufferWords(1));
        _out = new HostBuffer(block.OutputBufferWords(1));
    }

    [Benchmark] public void Run() => _runner.Run(_in, _out, 1);

    [GlobalCleanup] public void Cleanup() { _runner.Dispose(); _res.Dispose(); }
}
