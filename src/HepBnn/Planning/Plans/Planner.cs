using HepBnn.Devices;
using HepBnn.Runtime;
namespace HepBnn.Planning;

/// <summary>From a profile to plans: the cost table, the optimizer, and the plan records with their per-block predictions.</summary>
public static class Planner
{
    /// <summary>The <paramref name="k"/> best plans by prediction (with each plan's measured host I/O: <see cref="PlanRanking"/>),
    /// best first.</summary>
    public static IReadOnlyList<Plan> Map(Profile profile, int k = 1)
    {
        var table = CostModel.Build(profile);
        var top = PlanRanking.Top(profile, table, k);
        if (top.Count == 0) throw new HepBnnException($"no mapping of '{profile.Model}' covers every block with the measured configurations");
        return top.Select(m => ToPlan(profile, table, m)).ToList();
    }

    public static Plan ToPlan(Profile profile, CostTable table, Mapping mapping)
    {
        var blocks = new List<PlannedBlock>();
        var where = DeviceKind.Cpu;
        int region = 0;
        foreach (var u in table.Units(mapping.Choice))
        {
            // A fused range (gpu.fused on blocks First..Last) is one launch: its time is on its first block, 0 on the others.
            // A CPU block that opens (or widens) a CPU region carries the region's hand-off in its compute time.
            var o = u.Option;
            double move = table.Move(u.First, where, o.Device);
            (region, double handOff) = table.RegionStep(region, o);
            double compute = o.TimeUs + handOff;
            for (int i = u.First; i <= u.Last; i++)
                blocks.Add(i == u.First ? new PlannedBlock(i, profile.Blocks[i].Name, o.Configuration, o.Device, compute, move, compute + move)
                                        : new PlannedBlock(i, profile.Blocks[i].Name, o.Configuration, o.Device, 0, 0, 0));
            where = o.Device;
        }
        // The host I/O measured fastest for this very plan (if it was measured), and the graph edges (plain or programmatic)
        // where the profile measured both; a plan measured whole is predicted at that measurement (HostIoChoice.PredictedUs).
        var (hostIo, pdl, saving, measured) = HostIoChoice.Chosen(profile, mapping.Configurations);
        var plan = new Plan(Plan.FormatId, profile.Model, profile.ModelHash, profile.Batch, profile.Platform, DateTime.UtcNow, blocks,
            table.Move(table.BlockCount, where, DeviceKind.Cpu), table.FixedUs, measured ?? mapping.PredictedUs)
            { HostIo = hostIo, HostIoSavingUs = saving, DependentLaunch = pdl, MeasuredWhileProfiling = measured is not null };
        // a profile built in memory (not read through ProfileFile) could still hold absurd times: never hand out a plan
        // that the plan reader would refuse
        PlanValidator.CheckWellFormed(plan, $"the plan mapped from the profile of '{profile.Model}'");
        return plan;
    }
}
