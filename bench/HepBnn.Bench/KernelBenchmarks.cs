using BenchmarkDotNet.Attributes;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops.Cpu;
using HepBnn.Ops;

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

/// <summary>Each block of vgg3 and vgg7 in each CPU configuration, on random inputs:
/// <c>dotnet run -c Release --project bench/HepBnn.Bench -- --filter '*ModelBlock*'</c>.</summary>
public class ModelBlockBenchmarks
{
    ExecutionResources _res = null!;
    IBlockRunner _runner = null!;
    HostBuffer _in = null!, _out = null!;

    [ParamsSource(nameof(Configs))] public string Config { get; set; } = "";
    /// <summary>"model/block", e.g. "vgg7/conv2".</summary>
    [ParamsSource(nameof(Blocks))] public string Block { get; set; } = "";
    [Params(1, 64)] public int Batch { get; set; }

    public static IEnumerable<string> Configs => ConfigurationRegistry.Cpu.Select(c => c.Name);
    public static IEnumerable<string> Blocks =>
        ModelZoo.Names.SelectMany(m => BlockCompiler.Compile(ModelZoo.TryGet(m, 1)!).Select(b => $"{m}/{b.Name}"));

    [GlobalSetup]
    public void Setup()
    {
        var parts = Block.Split('/');
        var block = BlockCompiler.Compile(ModelZoo.TryGet(parts[0], 1)!).Single(b => b.Name == parts[1]);
        _res = new ExecutionResources();
        _runner = ConfigurationRegistry.Find(Config).Prepare(block, Batch, _res);
        _in = new HostBuffer(block.InputBufferWords(Batch));
        _out = new HostBuffer(block.OutputBufferWords(Batch));
        var r = new Random(1);
        for (int i = 0; i < _in.Data.Length; i++) _in.Data[i] = (ulong)r.NextInt64();
        if (block.Input == BlockInput.Bits && block.InputShape.C % 64 != 0)
            throw new InvalidOperationException("random bits would set channel padding bits");
    }

    [Benchmark] public void Run() => _runner.Run(_in, _out, Batch);

    [GlobalCleanup] public void Cleanup() { _runner.Dispose(); _res.Dispose(); }
}
