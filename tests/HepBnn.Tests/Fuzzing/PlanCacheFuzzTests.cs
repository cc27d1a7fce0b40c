using System.Text;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Sessions;
using HepBnn.Tests.Formats;
using HepBnn.Tests.Planning;

namespace HepBnn.Tests.Fuzzing;

/// <summary>Mutation fuzzing of plan-cache entries: whatever a cache file holds (truncated, corrupted, another batch,
/// another model), <see cref="PlanCache.TryLoad"/> never throws — it returns the plan or null with a note (counted here
/// as a rejection) — and a plan it returns fits the model and batch and is stored and loaded back equal.</summary>
[Trait("Category", "Fuzz")]
public class PlanCacheFuzzTests(ITestOutputHelper output)
{
    static readonly BnnModel Model = FormatTestModels.Tiny(1);

    [Fact]
    public void CacheEntries()
    {
        var compiled = CompiledModel.Of(Model);
        var r = new Random(11);
        var seeds = Enumerable.Range(0, 4).Select(i => Encoding.UTF8.GetBytes(PlanningJson.Serialize(
            PlanTestSupport.Make(Model, PlanTestSupport.RandomCpuPlan(Model, r), batch: 2)))).ToList();
        using var scratch = new FuzzScratch();
        var cache = new PlanCache(scratch.Directory);
        string entry = cache.PathFor(compiled, 2, "cpu", HepBnn.Devices.PlatformInfo.CurrentFingerprint);
        var fuzzer = new MutationFuzzer("plan-cache", seeds, b =>
        {
            File.WriteAllBytes(entry, b);
            var plan = cache.TryLoad(compiled, 2, "cpu", out string? note);
            if (plan is null) throw new HepBnnException(note ?? "no plan and no note");
            RoundTrip.Check("plan-cache", () =>
            {
                RoundTrip.True(plan.Batch == 2, $"a cached plan for batch {plan.Batch} was returned for batch 2");
                RoundTrip.True(cache.Store(compiled, 2, "cpu", plan, out string? storeNote) == entry, $"store failed: {storeNote}");
                var again = cache.TryLoad(compiled, 2, "cpu", out _);
                RoundTrip.Equal(PlanningJson.Serialize(plan), again is null ? "null" : PlanningJson.Serialize(again), "cached plan");
            });
        }, FuzzSettings.Options(null, JsonMutator.Mutate));
        FuzzSettings.Check(output, fuzzer.Run(FuzzSettings.Cases));
    }
}
