using FedActors.Training.Randomness;

namespace FedActors.Training.Data;

/// <summary>
/// Seeded long-tailed, dermoscopy-like RGB images of 8 lesion classes (ISIC-2019's
/// categories), each class a distinct but overlapping mix of colour, border, size and
/// texture on a varying skin tone, so a model must combine cues and rare classes are
/// genuinely hard. Each site's scanner and colour cast render them.
/// </summary>
public static class SyntheticSkinLesions
{
    /// <summary>Display name of each class, by label index (ISIC-2019's eight diagnostic categories).</summary>
    public static readonly string[] ClassNames =
    [
        "melanocytic nevus", "melanoma", "basal cell carcinoma", "actinic keratosis",
        "benign keratosis", "dermatofibroma", "vascular lesion", "squamous cell carcinoma",
    ];

    /// <summary>Class counts n_c ∝ ρ^(−c/(C−1)) summing to <paramref name="total"/>: class 0 is ρ times as frequent as the last.</summary>
    public static int[] LongTailedCounts(int total, int classes, double imbalanceRatio)
    {
        if (classes < 2 || classes > ClassNames.Length) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"between 2 and {ClassNames.Length}");
        if (imbalanceRatio < 1) throw new ArgumentOutOfRangeException(nameof(imbalanceRatio), imbalanceRatio, "at least 1");
        var weights = Enumerable.Range(0, classes).Select(c => Math.Pow(imbalanceRatio, -c / (double)(classes - 1))).ToArray();
        var counts = weights.Select(w => Math.Max(1, (int)Math.Floor(w / weights.Sum() * total))).ToArray();
        counts[0] += total - counts.Sum();
        if (counts[0] < 1) throw new ArgumentException($"{total} images cannot hold {classes} classes.");
        return counts;
    }

    /// <summary>
    /// Draws <paramref name="counts"/>[c] RGB images of class c, shuffled, each channel scaled by
    /// <paramref name="colourCast"/> and then rendered through <paramref name="scanner"/>.
    /// </summary>
    /// <param name="counts">Images per class (e.g. from <see cref="LongTailedCounts"/>).</param>
    /// <param name="size">Image width and height in pixels; at least 16.</param>
    /// <param name="scanner">The site's scanner, applied to each channel separately.</param>
    /// <param name="colourCast">The site's per-channel gain (R, G, B), part of its scanner.</param>
    /// <param name="rng">Source of the shuffle, the lesions' appearance and the scanner noise; the same seed gives the same images.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="size"/> is below 16.</exception>
    public static ImageShard Generate(IReadOnlyList<int> counts, int size, ScannerProfile scanner, (double R, double G, double B) colourCast, SeededRandom rng)
    {
        if (size < 16) throw new ArgumentOutOfRangeException(nameof(size), size, "images must be at least 16 pixels wide");
        var labels = counts.SelectMany((n, c) => Enumerable.Repeat(c, n)).ToArray();
        rng.Shuffle(labels);
        var plane = size * size;
        var pixels = new byte[labels.Length * 3 * plane];
        var rgb = new double[3][];
        for (var ch = 0; ch < 3; ch++) rgb[ch] = new double[plane];
        double[] gains = [colourCast.R, colourCast.G, colourCast.B];
        for (var n = 0; n < labels.Length; n++)
        {
            Draw(rgb, size, labels[n], rng);
            for (var ch = 0; ch < 3; ch++)
            {
                for (var i = 0; i < plane; i++) rgb[ch][i] = Math.Clamp(rgb[ch][i] * gains[ch], 0, 1);
                scanner.Render(rgb[ch], size, size, rng, pixels.AsSpan((n * 3 + ch) * plane, plane));
            }
        }
        return new ImageShard(3, size, size, pixels, labels);
    }

    private readonly record struct Colour(double R, double G, double B)
    {
        public Colour Mix(Colour o, double t) => new(R + (o.R - R) * t, G + (o.G - G) * t, B + (o.B - B) * t);
    }

    private static readonly Colour Brown = new(0.45, 0.28, 0.18), DarkBrown = new(0.25, 0.14, 0.08), Black = new(0.08, 0.06, 0.07),
        BlueGrey = new(0.35, 0.4, 0.5), Pink = new(0.9, 0.6, 0.62), Red = new(0.75, 0.15, 0.2), Purple = new(0.5, 0.15, 0.35),
        LightBrown = new(0.7, 0.52, 0.38), White = new(0.95, 0.93, 0.88), Keratin = new(0.92, 0.88, 0.7);

    private static void Draw(double[][] rgb, int size, int label, SeededRandom rng)
    {
        var tone = rng.Uniform(-0.12, 0.08);
        var skin = new Colour(0.88 + tone, 0.68 + tone, 0.58 + tone);
        var cx = size * (0.5 + rng.Uniform(-0.08, 0.08));
        var cy = size * (0.5 + rng.Uniform(-0.08, 0.08));
        var (radius, irregular, main) = label switch
        {
            0 => (rng.Uniform(0.18, 0.28), rng.Uniform(0.0, 0.05), Brown.Mix(DarkBrown, rng.Uniform(0, 0.5))),
            1 => (rng.Uniform(0.24, 0.36), rng.Uniform(0.15, 0.3), DarkBrown.Mix(Black, rng.Uniform(0, 0.5))),
            2 => (rng.Uniform(0.2, 0.3), rng.Uniform(0.05, 0.12), Pink.Mix(White, rng.Uniform(0, 0.3))),
            3 => (rng.Uniform(0.22, 0.34), rng.Uniform(0.12, 0.25), Pink.Mix(Red, rng.Uniform(0.1, 0.4))),
            4 => (rng.Uniform(0.22, 0.32), rng.Uniform(0.04, 0.12), LightBrown.Mix(Brown, rng.Uniform(0, 0.4))),
            5 => (rng.Uniform(0.12, 0.2), rng.Uniform(0.0, 0.06), Brown.Mix(LightBrown, rng.Uniform(0, 0.6))),
            6 => (rng.Uniform(0.16, 0.26), rng.Uniform(0.02, 0.1), Red.Mix(Purple, rng.Uniform(0, 0.7))),
            _ => (rng.Uniform(0.2, 0.3), rng.Uniform(0.08, 0.18), Pink.Mix(White, rng.Uniform(0.2, 0.5))),
        };
        radius *= size;
        var harmonics = Enumerable.Range(0, 3).Select(k => (k: k + 2, a: irregular * rng.Uniform(0.3, 1), ph: rng.Uniform(0, 6.3))).ToArray();
        var secondary = label == 1 ? (rng.NextDouble() < 0.5 ? BlueGrey : Black) : main;
        var patchAngle = rng.Uniform(0, 6.3);
        var spots = Enumerable.Range(0, label is 4 or 6 or 7 ? 5 + rng.NextInt(5) : 0)
            .Select(_ => (x: cx + rng.Uniform(-0.6, 0.6) * radius, y: cy + rng.Uniform(-0.6, 0.6) * radius, r: rng.Uniform(0.04, 0.08) * size)).ToArray();
        var vessels = Enumerable.Range(0, label == 2 ? 3 : 0).Select(_ => (a: rng.Uniform(0, 6.3), f: rng.Uniform(0.3, 0.7), ph: rng.Uniform(0, 6.3))).ToArray();

        for (var y = 0; y < size; y++)
        for (var x = 0; x < size; x++)
        {
            var (dx, dy) = (x + 0.5 - cx, y + 0.5 - cy);
            var d = Math.Sqrt(dx * dx + dy * dy);
            var theta = Math.Atan2(dy, dx);
            var edge = radius * (1 + harmonics.Sum(h => h.a * Math.Sin(h.k * theta + h.ph)));
            var c = skin;
            if (d < edge)
            {
                var depth = Math.Clamp((edge - d) / Math.Max(1, 0.3 * edge), 0, 1); // soft border
                c = skin.Mix(main, depth * 0.9);
                if (label == 1 && Math.Cos(theta - patchAngle) > 0.3) c = c.Mix(secondary, 0.6 * depth);
                if (label == 5 && d < 0.45 * edge) c = c.Mix(White, 0.7);
                if (label == 7 && d < 0.35 * edge) c = c.Mix(Keratin, 0.8);
                foreach (var v in vessels)
                    if (Math.Abs(Math.Sin(v.a) * dx - Math.Cos(v.a) * dy + 2 * Math.Sin(v.f * d + v.ph)) < 0.8) c = c.Mix(Red, 0.7);
            }
            foreach (var s in spots)
            {
                var sd = (x + 0.5 - s.x) * (x + 0.5 - s.x) + (y + 0.5 - s.y) * (y + 0.5 - s.y);
                if (sd < s.r * s.r) c = c.Mix(label switch { 4 => White, 6 => Purple, _ => Red }, 0.75);
            }
            var i = y * size + x;
            rgb[0][i] = c.R;
            rgb[1][i] = c.G;
            rgb[2][i] = c.B;
        }
    }
}
