namespace HepBnn.Planning;

/// <summary>
/// min Σ_r (A_r·x − b_r)² + Σ_j λ_j ‖A_j‖² x_j² subject to x ≥ 0, by cyclic coordinate descent (convex, and strictly so
/// with λ &gt; 0, so it converges to the unique optimum). The small column-scaled ridge picks, among the many fits that
/// few calibration runs allow, the one with the smallest corrections — and leaves a term at 0 when nothing asks for it.
/// λ_j is relative to column j's own weight, so a larger λ_j says "term j needs stronger evidence".
/// </summary>
public static class NonNegativeLeastSquares
{
    public static double[] Solve(double[][] a, double[] b, double lambda = 1e-4, int maxSweeps = 20000, double tolerance = 1e-12) =>
        Solve(a, b, Enumerable.Repeat(lambda, b.Length == 0 ? 0 : a[0].Length).ToArray(), maxSweeps, tolerance);

    public static double[] Solve(double[][] a, double[] b, double[] lambda, int maxSweeps = 20000, double tolerance = 1e-12)
    {
        int rows = b.Length, cols = rows == 0 ? 0 : a[0].Length;
        var x = new double[cols];
        if (rows == 0 || cols == 0) return x;
        var norm2 = new double[cols];
        for (int j = 0; j < cols; j++) for (int r = 0; r < rows; r++) norm2[j] += a[r][j] * a[r][j];
        var residual = (double[])b.Clone(); // b − A x
        double scale = b.Sum(v => v * v) + 1e-300;
        for (int sweep = 0; sweep < maxSweeps; sweep++)
        {
            double change = 0;
            for (int j = 0; j < cols; j++)
            {
                if (norm2[j] == 0) continue;
                double dot = 0;
                for (int r = 0; r < rows; r++) dot += a[r][j] * residual[r];
                double next = Math.Max(0, (dot + norm2[j] * x[j]) / (norm2[j] * (1 + lambda[j])));
                double delta = next - x[j];
                if (delta == 0) continue;
                for (int r = 0; r < rows; r++) residual[r] -= a[r][j] * delta;
                change = Math.Max(change, delta * delta * norm2[j]);
                x[j] = next;
            }
            if (change <= tolerance * scale) break;
        }
        return x;
    }
}
