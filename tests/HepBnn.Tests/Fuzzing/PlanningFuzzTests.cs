using System.Text;
using HepBnn.Devices;
using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Planning;
using HepBnn.Tests.Formats;
using HepBnn.Tests.Planning;


namespace HepBnn.Tests.Fuzzing;

/// <summary>Mutation fuzzing of the plan and profile JSON readers through their file entry points, including the checks
/// against a model (plan: <see cref="PlanFile.Load"/> = well-formedness + <see cref="PlanValidator"/>; profile:
/// <see cref="ProfileFile.Load"/>). Seeds are made directly for a tiny model (no timing).</summary>
[Trait("Category", "Fuzz")]
public class PlanningFuzzTests(ITestOutputHelper output)
{
    const string Platform = "fuzz-platform";
    static readonly BnnModel Model = FormatTestModels.Tiny(1);

    static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Fact]
    public void PlanJson()
    {
        var r = new Random(7);
        var seeds = new List<byte[]>();
        for (int i = 0; i < 4; i++)
            seeds.Add(Utf8(PlanningJson.Serialize(PlanTestSupport.Make(Model, PlanTestSupport.RandomCpuPlan(Model, r), batch: 1 + i * 5, platform: Platform))));
        using var scratch = new FuzzScratch();
        var fuzzer = new MutationFuzzer("plan-json", seeds, b =>
        {
            var plan = PlanFile.Load(scratch.Write("plan.json", b), Model, Platform);
            // round trip: what the reader accepts, the writer writes and the reader reads back equal
            RoundTrip.Check("plan", () =>
            {
                string again = Path.Combine(scratch.Directory, "plan-again.json");
                PlanFile.Save(plan, again);
                RoundTrip.Equal(PlanningJson.Serialize(plan), PlanningJson.Serialize(PlanFile.Load(again, Model, Platform)), "plan JSON");
            });
        },
            FuzzSettings.Options(null, JsonMutator.Mutate));
        FuzzSettings.Check(output, fuzzer.Run(FuzzSettings.Cases));
    }

    [Fact]
    public void ProfileJson()
    {
        var seeds = new List<byte[]> { Utf8(PlanningJson.Serialize(MakeProfile(Model, 4, calibrated: true))), Utf8(PlanningJson.Serialize(MakeProfile(Model, 1, calibrated: false))) };
        using var scratch = new FuzzScratch();
        var fuzzer = new MutationFuzzer("profile-json", seeds, b =>
        {
            var profile = ProfileFile.Load(scratch.Write("profile.json", b), Model, 4, Platform);
            RoundTrip.Check("profile", () =>
            {
                string again = Path.Combine(scratch.Directory, "profile-again.json");
                ProfileFile.Save(profile, again);
                RoundTrip.Equal(PlanningJson.Serialize(profile), PlanningJson.Serialize(ProfileFile.Load(again, Model, 4, Platform)), "profile JSON");
                // and whatever the profile maps to is a plan the plan reader accepts
                string plan = Path.Combine(scratch.Directory, "mapped-plan.json");
                PlanFile.Save(Planner.Map(profile)[0], plan);
                PlanFile.ReadUnvalidated(plan);
            });
        },
            FuzzSettings.Options(null, JsonMutator.Mutate));
        FuzzSettings.Check(output, fuzzer.Run(FuzzSettings.Cases));
    }

    /// <summary>A profile with made-up timings for every CPU configuration of every block, transfers at every boundary,
    /// and (optionally) a calibration with points, so that every record type of the format is in the seed.</summary>
    static Profile MakeProfile(BnnModel model, int batch, bool calibrated)
    {
        var blocks = BlockCompiler.Compile(model);
        var profiles = blocks.Select((b, i) => new BlockProfile(i, b.Name, 10 * (i + 1), 10 * (i + 2),
            // six configurations cover every record shape; every registered one (15 and growing) would only enlarge the
            // seed, and with it the per-input-byte allocation that the fuzz ceiling was calibrated on
            ConfigurationRegistry.For(b, DeviceKind.Cpu).Take(6).Select((c, j) => new ConfigurationTiming(c.Name, c.Device, 5 + j, 4 + j, 6 + j, 7, j == 2)).ToList())).ToList();
        var transfers = Enumerable.Range(0, blocks.Count + 1).Select(k => new TransferProfile(k, DeviceKind.Gpu,
            k == blocks.Count ? TransferDirection.DeviceToHost : TransferDirection.HostToDevice, 10 * (k + 1), 3.5, 3, 4, 5)).ToList();
        var calibration = calibrated
            ? new Calibration(2.5, 1.25, [new DeviceCalibration(DeviceKind.Cpu, 0.5, 0.1)],
                [new CalibrationPoint(profiles.Select(p => p.Configurations[0].Configuration).ToList(), 20, 22, 21.5, 1)])
            : null;
        return new Profile(Profile.FormatId, model.Name, ModelHash.Compute(model), batch, Platform, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc),
            1.5, profiles, transfers, calibration, !calibrated);
    }
}
