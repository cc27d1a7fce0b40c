using HepBnn.Devices;
namespace HepBnn.Planning;

/// <summary>Turns a <see cref="Profile"/> (isolated measurements, optionally calibrated) into the optimizer's <see cref="CostTable"/>.</summary>
public static class CostModel
{
    /// <summary>The cost table of a profile, with its calibration applied unless <paramref name="calibrated"/> is false.</summary>
    public static CostTable Build(Profile profile, bool calibrated = true) =>
        Build(profile, calibrated ? profile.Calibration ?? Calibration.None : Calibration.None);

    public static CostTable Build(Profile profile, Calibration calibration)
    {
        var options = profile.Blocks.Select(b => (IReadOnlyList<CostOption>)b.Configurations
            .Where(c => double.IsFinite(c.MedianUs))
            .Select(c => new CostOption(c.Configuration, c.Device, Adjust(c.MedianUs, calibration.For(c.Device)), c.Threads))
            .ToList()).ToList();
        // A fused range is one launch: calibrated as one GPU block.
        var ranges = (profile.FusedRanges ?? []).Where(r => double.IsFinite(r.MedianUs))
            .Select(r => new RangeOption(r.First, r.Last, Adjust(r.MedianUs, calibration.For(DeviceKind.Gpu)))).ToList();
        var moves = new List<IReadOnlyDictionary<(DeviceKind, DeviceKind), double>>();
        for (int boundary = 0; boundary <= profile.Blocks.Count; boundary++)
        {
            var here = profile.Transfers.Where(t => t.Boundary == boundary).ToList();
            double? Leg(DeviceKind d, TransferDirection dir) => here.FirstOrDefault(t => t.Device == d && t.Direction == dir)?.MedianUs;
            var devices = here.Select(t => t.Device).Distinct().ToList();
            var m = new Dictionary<(DeviceKind, DeviceKind), double>();
            foreach (var d in devices)
            {
                if (Leg(d, TransferDirection.HostToDevice) is { } up) m[(DeviceKind.Cpu, d)] = up + calibration.BoundaryUs;
                if (Leg(d, TransferDirection.DeviceToHost) is { } down) m[(d, DeviceKind.Cpu)] = down + calibration.BoundaryUs;
            }
            // Between two accelerators the data goes through the host.
            foreach (var a in devices) foreach (var b in devices)
                if (a != b && Leg(a, TransferDirection.DeviceToHost) is { } down && Leg(b, TransferDirection.HostToDevice) is { } up)
                    m[(a, b)] = down + up + calibration.BoundaryUs;
            moves.Add(m);
        }
        // CPU regions: what a wider region costs more than the narrowest one measured. Not the whole empty-region time: in
        // a real run the helpers start (≤ 0.7 µs after the hand-off on the 16-core Xeon) while the caller already works on
        // its first slice: VGG3 b1's found plan there measured 14.0 µs, about the sum of its blocks' in-region times, and
        // adding the whole empty region (4.6 µs at 16 threads) predicted 18.8 µs (docs/results/cpu-xeon-b1). The common part is a per-run
        // constant that the calibration's per-run and per-block terms take; the width-dependent part decides plans.
        var measured = (profile.CpuRegions ?? []).Where(r => double.IsFinite(r.MedianUs)).ToList();
        double narrowest = measured.Count == 0 ? 0 : measured.MinBy(r => r.Threads)!.MedianUs;
        var regions = measured.Select(r => (r.Threads, Math.Max(0, r.MedianUs - narrowest))).ToList();
        return new CostTable(options, moves, calibration.SessionUs, ranges, regions);
    }

    /// <summary>Calibrated block time. The floor (a small fraction of the isolated time, not 0) keeps it strictly increasing in
    /// the isolated time, so a negative correction never makes cheap and very cheap options tie.</summary>
    static double Adjust(double isolatedUs, DeviceCalibration c) => Math.Max(0.05 * isolatedUs, isolatedUs * (1 + c.WorkFactor) + c.PerBlockUs);

    /// <summary>
    /// Fits a <see cref="Calibration"/> to whole-plan measurements (configuration names per block, measured µs):
    /// measured − isolated prediction = session + Σ_devices (blocks_d · perBlock_d + isolatedWork_d · workFactor_d) + boundaries · boundary,
    /// relative errors, non-negative least squares (signed terms as a pair of non-negative ones), robust to outlier plans.
    /// </summary>
    public static Calibration Fit(Profile profile, IReadOnlyList<(IReadOnlyList<string> Configurations, double MeasuredUs)> runs)
    {
        var iso = Build(profile, Calibration.None);
        var devices = profile.Blocks.SelectMany(b => b.Configurations).Select(c => c.Device).Distinct().OrderBy(d => d).ToList();
        // Columns: session, boundary, then per device: +perBlock, −perBlock, +work, −work.
        int cols = 2 + 4 * devices.Count;
        var a = new double[runs.Count][];
        var y = new double[runs.Count];
        var isolated = new double[runs.Count];
        for (int r = 0; r < runs.Count; r++)
        {
            var choice = iso.Choice(runs[r].Configurations);
            isolated[r] = iso.Cost(choice);
            double w = 1 / runs[r].MeasuredUs;
            var row = new double[cols];
            row[0] = w;
            row[1] = w * Boundaries(iso, choice);
            foreach (var u in iso.Units(choice)) // a fused range counts as one block
            {
                var o = u.Option;
                int c = 2 + 4 * devices.IndexOf(o.Device);
                row[c] += w; row[c + 1] -= w; row[c + 2] += w * o.TimeUs; row[c + 3] -= w * o.TimeUs;
            }
            a[r] = row;
            y[r] = w * (runs[r].MeasuredUs - isolated[r]);
        }
        // Ridge weights say which explanation to prefer when the plans cannot tell them apart: a per-run constant first,
        // then boundary and per-block terms (per-block equals the constant when every plan keeps all blocks on one device);
        // the proportional term is collinear with the rest when plans differ little, and would then fit noise with large
        // opposite-sign corrections, so it needs strong evidence.
        var lambda = new double[cols];
        for (int j = 0; j < cols; j++) lambda[j] = j == 0 ? 1e-6 : j == 1 ? 1e-5 : (j - 2) % 4 < 2 ? 1e-4 : 0.2;
        var weights = RobustWeights(a, y, lambda, out var x);
        // With few plans the terms are nearly collinear and the fit can explain the calibration plans with corrections that
        // mislead on every other plan. Keep it only if it predicts each plan better from the others (leave-one-out) than
        // the isolated sum does.
        if (!BeatsIsolatedOutOfSample(a, y, lambda, weights)) x = new double[cols];
        var cal = new Calibration(x[0], x[1],
            devices.Select((d, k) => new DeviceCalibration(d, x[2 + 4 * k] - x[3 + 4 * k], x[4 + 4 * k] - x[5 + 4 * k])).ToList(), []);
        var calibrated = Build(profile, cal);
        var points = runs.Select((run, r) => new CalibrationPoint(run.Configurations.ToArray(), isolated[r], run.MeasuredUs,
            calibrated.Cost(run.Configurations), weights[r])).ToList();
        return cal with { Points = points };
    }

    /// <summary>
    /// Iteratively reweighted fit: Huber weights (relative residual beyond 3% counts linearly), then Tukey's biweight
    /// (beyond 20% not at all). A plan whose isolated sum is far off its measurement — one block timed during a load
    /// spike — then cannot drag the corrections of all the others; it keeps weight 0 and shows as an outlier.
    /// </summary>
    static double[] RobustWeights(double[][] a, double[] y, double[] lambda, out double[] x)
    {
        int n = y.Length;
        var w = Enumerable.Repeat(1.0, n).ToArray();
        x = NonNegativeLeastSquares.Solve(a, y, lambda);
        for (int iteration = 0; iteration < 20; iteration++)
        {
            var residual = Residuals(a, y, x);
            var next = residual.Select(r => iteration < 10 ? Math.Min(1, 0.03 / Math.Max(Math.Abs(r), 1e-12))
                                                           : Math.Abs(r) < 0.2 ? Math.Pow(1 - r * r / 0.04, 2) : 0).ToArray();
            if (next.Sum() < 1e-9) break; // everything is an outlier: keep the last fit
            w = next;
            var sa = a.Select((row, r) => row.Select(v => v * Math.Sqrt(w[r])).ToArray()).ToArray();
            var sy = y.Select((v, r) => v * Math.Sqrt(w[r])).ToArray();
            x = NonNegativeLeastSquares.Solve(sa, sy, lambda);
        }
        return w;
    }

    /// <summary>Mean relative error of each inlier plan predicted by a fit on the other plans, vs. the uncorrected isolated sum
    /// (rows and targets are already relative: y = (measured − isolated) / measured).</summary>
    static bool BeatsIsolatedOutOfSample(double[][] a, double[] y, double[] lambda, double[] weights)
    {
        var inliers = Enumerable.Range(0, y.Length).Where(r => weights[r] > 0).ToList();
        if (inliers.Count < 3) return true; // too few plans to judge: trust the fit
        double fitted = 0, isolated = 0;
        foreach (int r in inliers)
        {
            var others = inliers.Where(o => o != r).ToList();
            var x = NonNegativeLeastSquares.Solve(others.Select(o => a[o]).ToArray(), others.Select(o => y[o]).ToArray(), lambda);
            fitted += Math.Abs(a[r].Zip(x, (p, q) => p * q).Sum() - y[r]);
            isolated += Math.Abs(y[r]);
        }
        return fitted < isolated;
    }

    static double[] Residuals(double[][] a, double[] y, double[] x) =>
        y.Select((v, r) => a[r].Zip(x, (p, q) => p * q).Sum() - v).ToArray();

    /// <summary>How many times the data changes device, counting the start and end on the host.</summary>
    public static int Boundaries(CostTable table, IReadOnlyList<int> choice)
    {
        int count = 0;
        var where = DeviceKind.Cpu;
        for (int i = 0; i < choice.Count; i++)
        {
            var d = table.Options[i][choice[i]].Device;
            if (d != where) count++;
            where = d;
        }
        return count + (where != DeviceKind.Cpu ? 1 : 0);
    }
}
