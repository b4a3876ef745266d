using static TorchSharp.torch;

namespace FedActors.Training.Methods;

/// <summary>Which way FedMoCo's self-adaptive aggregation leans on a client's ρ.</summary>
public enum RsaMode
{
    /// <summary>a_i ∝ n_i · max(ρ_i, 0)^γ: clients whose representation stayed close to the global one weigh more.</summary>
    Similar,

    /// <summary>a_i ∝ n_i · max(1 − ρ_i, 0)^γ: the ablation that favours clients that moved away.</summary>
    Dissimilar,
}

/// <summary>
/// Representational similarity analysis for FedMoCo's self-adaptive aggregation
/// (ALGORITHMS.md §1.2, ASSUMED form): the representational dissimilarity matrix of a model on
/// a probe batch is RDM = 1 − corr(Z), Z the L2-normalised features (B × d) and corr the
/// Pearson correlation between rows; a client compares the RDM of its trained model with the
/// RDM of the global model it received by the Spearman correlation ρ of their upper triangles,
/// and uploads only ρ. The server weighs client i by n_i · max(ρ_i, 0)^γ, normalised, and falls
/// back to n_i alone when no client has a positive factor.
/// </summary>
public static class RepresentationalSimilarity
{
    /// <summary>RDM = 1 − Pearson correlation between the rows of the L2-normalised <paramref name="features"/> [B, d].</summary>
    public static double[,] DissimilarityMatrix(Tensor features)
    {
        if (features.dim() != 2 || features.shape[0] < 3 || features.shape[1] < 2)
            throw new ArgumentException($"RSA needs features [B ≥ 3, d ≥ 2], got [{string.Join(", ", features.shape)}].", nameof(features));
        using var scope = NewDisposeScope();
        var z = features.detach().to(float64).cpu();
        z = nn.functional.normalize(z, p: 2, dim: 1);
        var centred = z - z.mean([1], keepdim: true);
        var norms = centred.norm(1, keepdim: true).clamp_min(1e-12);
        var unit = centred / norms;
        var rdm = 1 - unit.matmul(unit.t());
        var b = (int)features.shape[0];
        var values = rdm.data<double>().ToArray();
        var result = new double[b, b];
        for (var i = 0; i < b; i++)
        for (var j = 0; j < b; j++)
            result[i, j] = i == j ? 0 : values[i * b + j];
        return result;
    }

    /// <summary>The entries above the diagonal, row by row.</summary>
    public static double[] UpperTriangle(double[,] matrix)
    {
        var b = matrix.GetLength(0);
        var values = new double[b * (b - 1) / 2];
        var k = 0;
        for (var i = 0; i < b; i++)
        for (var j = i + 1; j < b; j++)
            values[k++] = matrix[i, j];
        return values;
    }

    /// <summary>ρ between two models' features of the same probe batch (rows in the same order).</summary>
    public static double Rho(Tensor localFeatures, Tensor globalFeatures)
    {
        if (localFeatures.shape[0] != globalFeatures.shape[0])
            throw new ArgumentException($"RSA compares the same probe batch: {localFeatures.shape[0]} vs {globalFeatures.shape[0]} rows.");
        return Spearman(UpperTriangle(DissimilarityMatrix(localFeatures)), UpperTriangle(DissimilarityMatrix(globalFeatures)));
    }

    /// <summary>Spearman's rank correlation: Pearson's of the ranks, ties given their mean rank; 0 when either side is constant.</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException($"Spearman needs equal lengths, got {x.Count} and {y.Count}.");
        if (x.Count < 2) throw new ArgumentException("Spearman needs at least two pairs.");
        return Pearson(Ranks(x), Ranks(y));
    }

    private static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            var mean = (start + end) / 2.0 + 1;
            for (var k = start; k <= end; k++) ranks[order[k]] = mean;
            start = end + 1;
        }
        return ranks;
    }

    private static double Pearson(double[] x, double[] y)
    {
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>
    /// The server's weights a_i ∝ n_i · f(ρ_i)^γ (f per <paramref name="mode"/>), summing to 1; plain
    /// n_i / Σ n when every factor is zero (say, every ρ ≤ 0 in <see cref="RsaMode.Similar"/>).
    /// </summary>
    public static double[] AggregationWeights(IReadOnlyList<long> samples, IReadOnlyList<double> rho, double gamma = 1, RsaMode mode = RsaMode.Similar)
    {
        if (samples.Count != rho.Count) throw new ArgumentException($"{samples.Count} sample counts but {rho.Count} ρ values.");
        if (samples.Count == 0) throw new ArgumentException("No clients to weigh.");
        if (!(gamma >= 0) || double.IsInfinity(gamma)) throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "γ must be finite and ≥ 0.");
        for (var i = 0; i < rho.Count; i++)
        {
            if (samples[i] <= 0) throw new ArgumentException($"Client {i} has {samples[i]} samples; each needs at least one.");
            if (!double.IsFinite(rho[i])) throw new ArgumentException($"Client {i}'s ρ is {rho[i]}; it must be a number.");
        }
        var raw = samples.Select((n, i) =>
        {
            var factor = Math.Max(mode == RsaMode.Similar ? rho[i] : 1 - rho[i], 0);
            return factor == 0 ? 0 : n * Math.Pow(factor, gamma);
        }).ToArray();
        var total = raw.Sum();
        if (total <= 0)
        {
            raw = samples.Select(n => (double)n).ToArray();
            total = raw.Sum();
        }
        return raw.Select(r => r / total).ToArray();
    }
}
