using HepBnn.Model;
using HepBnn.Ops;
using HepBnn.Runtime;
namespace HepBnn.Planning;

/// <summary>Reading, writing and checking profile JSON files.</summary>
public static class ProfileFile
{
    /// <summary>Largest time a profile may hold (µs, about 11.6 days): any sum of them in a plan stays finite, so a profile
    /// the reader accepts always maps to a plan the plan reader accepts.</summary>
    public const double MaxTimeUs = 1e12;
    /// <summary>Bounds of the calibration's proportional correction (block time × (1 + WorkFactor)).</summary>
    public const double MinWorkFactor = -1, MaxWorkFactor = 1e6;

    /// <summary>Checked as the reader checks it first: the writer never emits what the reader rejects.</summary>
    public static void Save(Profile profile, string path)
    {
        CheckWellFormed(profile, $"profile '{path}' (not written)");
        PlanningJson.Write(profile, path, "profile");
    }

    public static Profile Read(string path)
    {
        var p = PlanningJson.Read<Profile>(path, "profile");
        CheckWellFormed(p, $"profile '{path}'");
        return p;
    }

    /// <summary>Reads a profile and checks that it belongs to this model, batch and machine.</summary>
    public static Profile Load(string path, BnnModel model, int batch, string? platform = null)
    {
        var p = Read(path);
        string source = $"profile '{path}'";
        string hash = ModelHash.Compute(model);
        if (p.ModelHash != hash) throw new PlanMismatchException($"{source} was measured for another model ('{p.Model}'), not '{model.Name}'; profile this model again");
        if (p.Blocks.Count != BlockCompiler.Compile(model).Count) throw new PlanMismatchException($"{source} has {p.Blocks.Count} blocks, the model has another number");
        if (p.Batch != batch) throw new PlanMismatchException($"{source} was measured at batch {p.Batch}, not {batch}; profile again at this batch");
        platform ??= PlanValidator.CurrentPlatform;
        if (p.Platform != platform) throw new PlanMismatchException($"{source} was measured on another machine ({p.Platform}); this one is {platform}");
        return p;
    }

    public static void CheckWellFormed(Profile p, string source)
    {
        if (p.Format != Profile.FormatId) throw new HepBnnException($"{source}: format '{p.Format}' is not '{Profile.FormatId}'");
        if (p.Batch < 1 || p.Batch > 1 << 16) throw new HepBnnException($"{source}: batch {p.Batch} out of range 1..65536");
        if (p.Blocks.Count == 0) throw new HepBnnException($"{source} has no blocks");
        for (int i = 0; i < p.Blocks.Count; i++)
        {
            if (p.Blocks[i].Index != i) throw new HepBnnException($"{source}: block {i} has index {p.Blocks[i].Index}");
            if (!p.Blocks[i].Configurations.Any(c => double.IsFinite(c.MedianUs) && c.MedianUs >= 0))
                throw new HepBnnException($"{source}: block {i} ({p.Blocks[i].Name}) has no valid timing");
            foreach (var c in p.Blocks[i].Configurations)
            {
                // NaN marks a configuration that was not measured; anything else must be a time in range. (The message is
                // built only on failure: names can be long, and this runs for every configuration of every block.)
                if (c.Threads < 0 || c.Threads > 1 << 16)
                    throw new HepBnnException($"{source}, block {i} ({p.Blocks[i].Name}), {c.Configuration}: threads {c.Threads} out of range 0..65536");
                foreach (var (us, field) in new[] { (c.MedianUs, "median"), (c.P10Us, "p10"), (c.P90Us, "p90") })
                    if (!double.IsNaN(us) && !InRange(us))
                        throw new HepBnnException($"{source}, block {i} ({p.Blocks[i].Name}), {c.Configuration}: {field} {us} µs out of range 0..{MaxTimeUs:G} µs");
            }
        }
        foreach (var t in p.Transfers)
        {
            if (t.Boundary < 0 || t.Boundary > p.Blocks.Count || !double.IsFinite(t.MedianUs) || t.MedianUs < 0)
                throw new HepBnnException($"{source}: transfer at boundary {t.Boundary} is out of range or has no valid time");
            if (!InRange(t.MedianUs)) throw new HepBnnException($"{source}: transfer at boundary {t.Boundary}: median {t.MedianUs} µs out of range 0..{MaxTimeUs:G} µs");
        }
        foreach (var r in p.FusedRanges ?? [])
        {
            if (r.First < 0 || r.Last < r.First || r.Last >= p.Blocks.Count)
                throw new HepBnnException($"{source}: fused range {r.First}..{r.Last} is not a range of the {p.Blocks.Count} blocks");
            if (!double.IsNaN(r.MedianUs) && !InRange(r.MedianUs))
                throw new HepBnnException($"{source}: fused range {r.First}..{r.Last}: median {r.MedianUs} µs out of range 0..{MaxTimeUs:G} µs");
        }
        foreach (var r in p.CpuRegions ?? [])
            if (r.Threads < 1 || r.Threads > 1 << 16 || !InRange(r.MedianUs))
                throw new HepBnnException($"{source}: CPU region of {r.Threads} threads: {r.MedianUs} µs is not a thread count 1..65536 with a time 0..{MaxTimeUs:G} µs");
        foreach (var io in HostIoChoice.Measured(p))
        {
            if (io.Configurations.Count != p.Blocks.Count)
                throw new HepBnnException($"{source}: hostIo names {io.Configurations.Count} configurations but the profile has {p.Blocks.Count} blocks");
            foreach (var m in io.Modes)
                if (!InRange(m.MedianUs) || !(m.PairedRatio > 0 && m.PairedRatio <= MaxTimeUs) || m.Samples < 0)
                    throw new HepBnnException($"{source}: hostIo {m.Mode}: median {m.MedianUs} µs, ratio {m.PairedRatio}, {m.Samples} samples out of range");
        }
        if (p.Calibration is { } cal)
        {
            if (!InRange(cal.SessionUs)) throw new HepBnnException($"{source}: calibration sessionUs {cal.SessionUs} µs out of range 0..{MaxTimeUs:G} µs");
            if (!InRange(cal.BoundaryUs)) throw new HepBnnException($"{source}: calibration boundaryUs {cal.BoundaryUs} µs out of range 0..{MaxTimeUs:G} µs");
            foreach (var d in cal.Devices)
            {
                if (!(Math.Abs(d.PerBlockUs) <= MaxTimeUs))
                    throw new HepBnnException($"{source}: calibration perBlockUs {d.PerBlockUs} of the {d.Device} out of range ±{MaxTimeUs:G} µs");
                if (!(d.WorkFactor >= MinWorkFactor && d.WorkFactor <= MaxWorkFactor))
                    throw new HepBnnException($"{source}: calibration workFactor {d.WorkFactor} of the {d.Device} out of range {MinWorkFactor}..{MaxWorkFactor:G}");
            }
        }
    }

    static bool InRange(double us) => us >= 0 && us <= MaxTimeUs;
}
