using FedActors.Training.Randomness;

namespace FedActors.Training.Data;

/// <summary>
/// Seeded short-axis cardiac-MRI-like volumes with label maps: left-ventricle blood pool
/// (1), myocardium (2), right ventricle (3) on a body with lung fields. Slices run from base
/// (z = 0) to apex: the ventricles shrink and the RV vanishes towards the apex, so a
/// slice's position is visible in its anatomy, as in real short-axis stacks (what FCL's
/// partition-aware positives rely on). Anatomy varies per volume; each site's scanner
/// renders it.
/// </summary>
public static class SyntheticCardiacVolumes
{
    /// <summary>Number of segmentation classes, background included (label values 0–3).</summary>
    public const int Classes = 4;
    /// <summary>Display name of each label value: background, LV blood pool, myocardium, right ventricle.</summary>
    public static readonly string[] ClassNames = ["background", "LV blood pool", "myocardium", "right ventricle"];

    /// <summary>
    /// Generates <paramref name="count"/> labelled volumes of <paramref name="depth"/> slices of
    /// <paramref name="size"/>×<paramref name="size"/> pixels, each slice rendered through <paramref name="scanner"/>.
    /// Voxels are in [0, 1].
    /// </summary>
    /// <param name="count">Number of volumes.</param>
    /// <param name="depth">Slices per volume, base to apex; at least 4.</param>
    /// <param name="size">Slice width and height in pixels; at least 32.</param>
    /// <param name="scanner">The site's scanner, applied slice by slice.</param>
    /// <param name="rng">Source of the anatomy and the scanner noise; the same seed gives the same volumes.</param>
    /// <param name="idPrefix">Prefix of the volume ids, which read <c>prefix-000</c>, <c>prefix-001</c>, ...</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="depth"/> is below 4 or <paramref name="size"/> below 32.</exception>
    public static List<Volume> Generate(int count, int depth, int size, ScannerProfile scanner, SeededRandom rng, string idPrefix = "vol")
    {
        if (depth < 4) throw new ArgumentOutOfRangeException(nameof(depth), depth, "at least 4 slices");
        if (size < 32) throw new ArgumentOutOfRangeException(nameof(size), size, "slices of at least 32 pixels");
        return Enumerable.Range(0, count).Select(i => GenerateOne($"{idPrefix}-{i:D3}", depth, size, scanner, rng)).ToList();
    }

    private static Volume GenerateOne(string id, int depth, int size, ScannerProfile scanner, SeededRandom rng)
    {
        double S(double f) => f * size;
        var cx = S(0.5 + rng.Uniform(-0.05, 0.05));
        var cy = S(0.5 + rng.Uniform(-0.05, 0.05));
        var lvRadius = S(rng.Uniform(0.12, 0.16));
        var wall = S(rng.Uniform(0.045, 0.065));
        var ellipticity = rng.Uniform(0.85, 1.15);
        var rvAngle = Math.PI + rng.Uniform(-0.5, 0.5);           // RV sits beside the LV, on one side
        var rvScale = rng.Uniform(1.2, 1.5);
        var bodyRx = S(rng.Uniform(0.42, 0.47));
        var bodyRy = S(rng.Uniform(0.34, 0.4));
        var (blood, myo, rvBlood, tissue, lung) =
            (rng.Uniform(0.8, 0.9), rng.Uniform(0.25, 0.35), rng.Uniform(0.72, 0.82), rng.Uniform(0.42, 0.5), rng.Uniform(0.06, 0.12));
        var texture = Enumerable.Range(0, 3).Select(_ => (fx: rng.Uniform(0.15, 0.5), fy: rng.Uniform(0.15, 0.5), ph: rng.Uniform(0, 6.3), a: rng.Uniform(0.01, 0.03))).ToArray();

        var plane = size * size;
        var voxels = new float[depth * plane];
        var labels = new byte[depth * plane];
        var ideal = new double[plane];
        var rendered = new byte[plane];
        for (var z = 0; z < depth; z++)
        {
            var t = z / (double)(depth - 1);
            var cavity = t < 0.9 ? lvRadius * (1 - 0.85 * Math.Pow(t, 1.6)) : 0;
            var outer = t < 0.9 ? cavity + wall : wall * 1.3 * (1.05 - t) / 0.15;
            var rvRadius = t < 0.75 ? lvRadius * rvScale * (1 - t / 0.8) : 0;
            var rvCx = cx + Math.Cos(rvAngle) * (outer + rvRadius * 0.45);
            var rvCy = cy + Math.Sin(rvAngle) * (outer + rvRadius * 0.45) * 0.6;
            for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var (px, py) = (x + 0.5, y + 0.5);
                var i = y * size + x;
                double v = 0.02;
                byte label = 0;
                var bx = (px - cx) / bodyRx;
                var by = (py - cy) / bodyRy;
                if (bx * bx + by * by <= 1)
                {
                    v = Math.Abs(px - cx) > S(0.2) && Math.Abs(py - cy) < S(0.2) ? lung : tissue;
                    foreach (var w in texture) v += w.a * Math.Sin(w.fx * px + w.fy * py + w.ph);
                }
                var dx = (px - cx) * ellipticity;
                var dy = (py - cy) / ellipticity;
                var d = Math.Sqrt(dx * dx + dy * dy);
                var rvd = Math.Sqrt((px - rvCx) * (px - rvCx) + (py - rvCy) * (py - rvCy));
                if (d <= cavity) { v = blood; label = 1; }
                else if (d <= outer) { v = myo; label = 2; }
                else if (rvRadius > 0 && rvd <= rvRadius) { v = rvBlood; label = 3; }
                ideal[i] = v;
                labels[z * plane + i] = label;
            }
            scanner.Render(ideal, size, size, rng, rendered);
            for (var i = 0; i < plane; i++) voxels[z * plane + i] = rendered[i] / 255f;
        }
        return new Volume(id, depth, size, size, voxels, labels);
    }
}
