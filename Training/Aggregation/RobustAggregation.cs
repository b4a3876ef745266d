using FedActors.Training.Weights;

namespace FedActors.Training.Aggregation;

/// <summary>
/// Byzantine-robust aggregation rules over uploads of one layout: the coordinate-wise median, the coordinate-wise
/// trimmed mean (Yin et al., 2018), (Multi-)Krum (Blanchard et al., 2017) and the weighted mean of norm-clipped changes
/// from the previous global. Each works
/// in double and in the given order, so a result is reproducible bit for bit when callers order the uploads
/// deterministically.
/// </summary>
public static class RobustAggregation
{
    /// <summary>The median of <paramref name="values"/>: the middle one, or the mean of the two middle ones of an even count.</summary>
    /// <exception cref="ArgumentException">No values.</exception>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("The median of no values.", nameof(values));
        var sorted = values.ToArray();
        Array.Sort(sorted);
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>How many values the trimmed mean cuts from each end of <paramref name="count"/>: ⌊β·n⌋.</summary>
    /// <param name="count">The number of uploads, at least 1.</param>
    /// <param name="beta">The fraction cut from each end, in [0, 0.5).</param>
    public static int Trimmed(int count, double beta) => (int)Math.Floor(beta * count + 1e-9);

    /// <summary>Each coordinate's median across <paramref name="uploads"/> (unweighted).</summary>
    public static ModelWeights CoordinateMedian(IReadOnlyList<WeightedContribution> uploads) =>
        Coordinatewise(uploads, column => Median(column));

    /// <summary>
    /// Each coordinate's mean across <paramref name="uploads"/> after cutting the k = ⌊β·n⌋ smallest and k largest values
    /// (unweighted): β = 0 is the plain mean.
    /// </summary>
    /// <param name="uploads">The uploads, at least one.</param>
    /// <param name="beta">The fraction cut from each end, in [0, 0.5).</param>
    public static ModelWeights TrimmedMean(IReadOnlyList<WeightedContribution> uploads, double beta)
    {
        if (!(beta >= 0 && beta < 0.5)) throw new ArgumentOutOfRangeException(nameof(beta), beta, "the trimmed fraction must be in [0, 0.5)");
        var k = Trimmed(uploads.Count, beta);
        return Coordinatewise(uploads, column =>
        {
            Array.Sort(column);
            double sum = 0;
            for (var i = k; i < column.Length - k; i++) sum += column[i];
            return sum / (column.Length - 2 * k);
        });
    }

    /// <summary>
    /// g + Σ a_i·clip(θ_i − g) with a_i = w_i / Σ w_j, where clip scales a change whose L2 norm exceeds
    /// <paramref name="bound"/> down to it (smaller ones are kept).
    /// </summary>
    /// <param name="previousGlobal">The global g the uploads started from.</param>
    /// <param name="uploads">The uploads and their (non-negative) weights, at least one.</param>
    /// <param name="bound">The largest norm a change keeps; positive.</param>
    public static ModelWeights ClippedMean(ModelWeights previousGlobal, IReadOnlyList<WeightedContribution> uploads, double bound)
    {
        if (!(bound > 0)) throw new ArgumentOutOfRangeException(nameof(bound), bound, "the clipping bound must be positive");
        var clipped = uploads.Select(u => u with { Weights = ClipDelta(u.Weights, previousGlobal, bound) }).ToList();
        return FederatedAveraging.WeightedMean(clipped);
    }

    /// <summary>
    /// Multi-Krum's choice (Blanchard et al., 2017): each upload's score is the sum of its squared L2 distances to its
    /// k = n − f − 2 nearest other uploads (at least 1, at most n − 1: below n = 2f + 3 Krum's guarantee does not hold, and
    /// the score still uses the neighbours there are); the <paramref name="select"/> uploads of lowest score are chosen, the
    /// earlier in <paramref name="uploads"/> on a tie. <paramref name="select"/> = 1 is Krum.
    /// </summary>
    /// <param name="uploads">The uploads, at least one, of one layout; their order breaks ties.</param>
    /// <param name="byzantine">f, the attackers to tolerate; at least 0.</param>
    /// <param name="select">m, how many to choose; at least 1 (capped at n).</param>
    /// <returns>The chosen uploads' indices into <paramref name="uploads"/>, in ascending order.</returns>
    public static IReadOnlyList<int> KrumChoice(IReadOnlyList<WeightedContribution> uploads, int byzantine, int select)
    {
        if (uploads.Count == 0) throw new ArgumentException("Nothing to aggregate: no contributions.", nameof(uploads));
        if (byzantine < 0) throw new ArgumentOutOfRangeException(nameof(byzantine), byzantine, "Krum's f must be at least 0");
        if (select < 1) throw new ArgumentOutOfRangeException(nameof(select), select, "Multi-Krum chooses at least 1 upload");
        var n = uploads.Count;
        var squared = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = i + 1; j < n; j++)
            {
                var d = DeltaNorm(uploads[i].Weights, uploads[j].Weights);
                squared[i, j] = squared[j, i] = d * d;
            }
        var neighbours = Math.Clamp(n - byzantine - 2, 1, Math.Max(1, n - 1));
        var scores = Enumerable.Range(0, n).Select(i =>
            n == 1 ? 0 : Enumerable.Range(0, n).Where(j => j != i).Select(j => squared[i, j]).Order().Take(neighbours).Sum()).ToArray();
        return Enumerable.Range(0, n).OrderBy(i => scores[i]).ThenBy(i => i).Take(Math.Min(select, n)).Order().ToList();
    }

    /// <summary>
    /// The unweighted mean of the <paramref name="chosen"/> of <paramref name="uploads"/>: Multi-Krum's aggregate given its
    /// <see cref="KrumChoice"/> (computed once by the caller, which also reports it), Krum itself for one chosen.
    /// </summary>
    /// <param name="uploads">The uploads, of one layout.</param>
    /// <param name="chosen">Indices into <paramref name="uploads"/>, at least one.</param>
    public static ModelWeights MultiKrum(IReadOnlyList<WeightedContribution> uploads, IReadOnlyList<int> chosen) =>
        FederatedAveraging.WeightedMean(chosen.Select(i => uploads[i] with { Weight = 1 }).ToList());

    /// <summary>The L2 norm of <paramref name="weights"/> − <paramref name="reference"/> (same layout), in double.</summary>
    public static double DeltaNorm(ModelWeights weights, ModelWeights reference)
    {
        double sum = 0;
        for (var t = 0; t < weights.Tensors.Count; t++)
        {
            var (a, b) = (weights.Tensors[t].Values, reference.Tensors[t].Values);
            for (var i = 0; i < a.Length; i++)
            {
                var d = (double)a[i] - b[i];
                sum += d * d;
            }
        }
        return Math.Sqrt(sum);
    }

    /// <summary><paramref name="reference"/> + (<paramref name="weights"/> − reference) scaled to norm <paramref name="bound"/> if its norm exceeds it; else <paramref name="weights"/> itself.</summary>
    public static ModelWeights ClipDelta(ModelWeights weights, ModelWeights reference, double bound)
    {
        var norm = DeltaNorm(weights, reference);
        if (!(norm > bound)) return weights;
        var scale = bound / norm;
        return new ModelWeights(weights.Tensors.Select((t, ti) =>
        {
            var g = reference.Tensors[ti].Values;
            var values = new float[t.Values.Length];
            for (var i = 0; i < values.Length; i++) values[i] = (float)(g[i] + scale * ((double)t.Values[i] - g[i]));
            return t with { Values = values };
        }).ToList());
    }

    private static ModelWeights Coordinatewise(IReadOnlyList<WeightedContribution> uploads, Func<double[], double> combine)
    {
        if (uploads.Count == 0) throw new ArgumentException("Nothing to aggregate: no contributions.", nameof(uploads));
        var reference = uploads[0].Weights;
        var result = new List<WeightTensor>(reference.Tensors.Count);
        var column = new double[uploads.Count];
        for (var ti = 0; ti < reference.Tensors.Count; ti++)
        {
            var shape = reference.Tensors[ti];
            foreach (var u in uploads)
                if (u.Weights.Tensors.Count != reference.Tensors.Count || u.Weights.Tensors[ti].Name != shape.Name || !u.Weights.Tensors[ti].Shape.SequenceEqual(shape.Shape))
                    throw new ArgumentException($"Contribution of '{u.Contributor}' does not have the layout of '{uploads[0].Contributor}'.", nameof(uploads));
            var values = new float[shape.Values.Length];
            for (var k = 0; k < values.Length; k++)
            {
                for (var i = 0; i < uploads.Count; i++) column[i] = uploads[i].Weights.Tensors[ti].Values[k];
                values[k] = (float)combine(column);
            }
            result.Add(new WeightTensor(shape.Name, shape.Shape, values));
        }
        return new ModelWeights(result);
    }
}
