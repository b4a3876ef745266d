using FedActors.Training.Randomness;

namespace FedActors.Training.Data;

/// <summary>
/// Seeded generator of chest-radiograph-like grey images: a body outline with two dark
/// lung fields and a bright mediastinum, plus one finding per class. Anatomy (position,
/// size, lung shape, texture) varies per image, so the class is carried only by the
/// finding: a model must learn lesion appearance, not memorise a template.
/// </summary>
public static class SyntheticChestRadiographs
{
    /// <summary>Display name of each class, by label index: 0 is normal, 1–3 a finding.</summary>
    public static readonly string[] ClassNames = ["normal", "nodule", "diffuse opacity", "lower-zone consolidation"];

    /// <summary>
    /// <paramref name="count"/> images of <paramref name="size"/>² rendered through
    /// <paramref name="scanner"/>; labels balanced over <paramref name="classes"/> (≤ 4) and shuffled.
    /// </summary>
    public static ImageShard Generate(int count, int size, ScannerProfile scanner, SeededRandom rng, int classes = 4)
    {
        if (classes < 2 || classes > ClassNames.Length)
            throw new ArgumentOutOfRangeException(nameof(classes), classes, $"between 2 and {ClassNames.Length}");
        if (size < 16) throw new ArgumentOutOfRangeException(nameof(size), size, "images must be at least 16 pixels wide");
        var labels = Enumerable.Range(0, count).Select(i => i % classes).ToArray(); // ClassCounts says how many of each
        rng.Shuffle(labels);
        var pixels = new byte[count * size * size];
        var ideal = new double[size * size];
        for (var n = 0; n < count; n++)
        {
            Draw(ideal, size, labels[n], rng);
            scanner.Render(ideal, size, size, rng, pixels.AsSpan(n * size * size, size * size));
        }
        return new ImageShard(size, size, pixels, labels);
    }

    /// <summary>
    /// How many images of each class <see cref="Generate"/> draws for <paramref name="count"/> images of <paramref name="classes"/>
    /// classes, known without drawing them: labels are dealt in turn, so the first <c>count mod classes</c> classes have one more.
    /// </summary>
    /// <param name="count">Images drawn.</param>
    /// <param name="classes">Classes drawn (2 to 4).</param>
    public static int[] ClassCounts(int count, int classes) =>
        Enumerable.Range(0, classes).Select(c => count / classes + (c < count % classes ? 1 : 0)).ToArray();

    private readonly record struct Lung(double Cx, double Cy, double Rx, double Ry);

    private static void Draw(double[] img, int size, int label, SeededRandom rng)
    {
        double S(double fraction) => fraction * size;
        var bodyCx = S(0.5) + S(rng.Uniform(-0.05, 0.05));
        var bodyCy = S(0.53) + S(rng.Uniform(-0.04, 0.04));
        var bodyRx = S(rng.Uniform(0.38, 0.45));
        var bodyRy = S(rng.Uniform(0.40, 0.46));
        var lungRy = bodyRy * rng.Uniform(0.55, 0.7);
        var lungRx = bodyRx * rng.Uniform(0.3, 0.38);
        var gap = bodyRx * rng.Uniform(0.42, 0.52);
        var lungs = new[]
        {
            new Lung(bodyCx - gap, bodyCy - bodyRy * 0.1, lungRx, lungRy),
            new Lung(bodyCx + gap, bodyCy - bodyRy * 0.1, lungRx * rng.Uniform(0.9, 1.05), lungRy * rng.Uniform(0.9, 1.05)),
        };
        // Smooth texture: a few random low-frequency waves (ribs and vessels, roughly).
        var waves = Enumerable.Range(0, 3).Select(_ => (fx: rng.Uniform(0.2, 0.9), fy: rng.Uniform(0.6, 1.6), ph: rng.Uniform(0, 6.3), a: rng.Uniform(0.01, 0.04))).ToArray();
        var tissue = rng.Uniform(0.5, 0.6);
        var air = rng.Uniform(0.15, 0.22);

        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
        {
            var (px, py) = (x + 0.5, y + 0.5);
            var v = 0.04;
            if (Inside(px, py, bodyCx, bodyCy, bodyRx, bodyRy)) v = tissue;
            foreach (var l in lungs)
                if (Inside(px, py, l.Cx, l.Cy, l.Rx, l.Ry)) v = air;
            if (Math.Abs(px - bodyCx) < bodyRx * 0.12 && py > bodyCy - bodyRy * 0.8 && py < bodyCy + bodyRy * 0.6) v = 0.75;
            foreach (var w in waves) v += w.a * Math.Sin(w.fx * px + w.fy * py + w.ph);
            img[y * size + x] = v;
        }

        switch (label)
        {
            case 1: // one well-defined round nodule
            {
                var l = lungs[rng.NextInt(2)];
                var (nx, ny) = PointInLung(l, rng, 0.6);
                AddBlob(img, size, nx, ny, S(rng.Uniform(0.06, 0.09)), rng.Uniform(0.4, 0.55), l);
                break;
            }
            case 2: // many small faint opacities in both lungs
            {
                var n = 6 + rng.NextInt(5);
                for (var i = 0; i < n; i++)
                {
                    var l = lungs[i % 2];
                    var (nx, ny) = PointInLung(l, rng, 0.85);
                    AddBlob(img, size, nx, ny, S(rng.Uniform(0.03, 0.045)), rng.Uniform(0.2, 0.3), l);
                }
                break;
            }
            case 3: // dense opacity filling the lower zone of one lung, flat upper border
            {
                var l = lungs[rng.NextInt(2)];
                var level = l.Cy + l.Ry * rng.Uniform(0.0, 0.4);
                var amp = rng.Uniform(0.3, 0.4);
                for (var y = 0; y < size; y++)
                for (var x = 0; x < size; x++)
                {
                    var (px, py) = (x + 0.5, y + 0.5);
                    if (py > level && Inside(px, py, l.Cx, l.Cy, l.Rx, l.Ry)) img[y * size + x] += amp * Math.Min(1, (py - level) / 1.5);
                }
                break;
            }
        }
    }

    private static bool Inside(double px, double py, double cx, double cy, double rx, double ry)
    {
        var (dx, dy) = ((px - cx) / rx, (py - cy) / ry);
        return dx * dx + dy * dy <= 1;
    }

    private static (double x, double y) PointInLung(Lung l, SeededRandom rng, double within)
    {
        var r = within * Math.Sqrt(rng.NextDouble());
        var a = rng.Uniform(0, 2 * Math.PI);
        return (l.Cx + r * l.Rx * Math.Cos(a), l.Cy + r * l.Ry * Math.Sin(a));
    }

    private static void AddBlob(double[] img, int size, double cx, double cy, double radius, double amplitude, Lung clip)
    {
        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
        {
            var (px, py) = (x + 0.5, y + 0.5);
            var d2 = (px - cx) * (px - cx) + (py - cy) * (py - cy);
            if (d2 > 9 * radius * radius) continue;
            var falloff = Inside(px, py, clip.Cx, clip.Cy, clip.Rx * 1.05, clip.Ry * 1.05) ? 1.0 : 0.3;
            img[y * size + x] += falloff * amplitude * Math.Exp(-d2 / (2 * radius * radius));
        }
    }
}
