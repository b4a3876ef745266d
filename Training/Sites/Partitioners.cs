using FedActors.Training.Randomness;

namespace FedActors.Training.Sites;

/// <summary>
/// Splits a pooled data set's indices over hospitals. Every partitioner is seeded, returns
/// each site's indices sorted, and uses every index exactly once.
/// </summary>
public static class Partitioners
{
    /// <summary>Shuffled indices dealt round-robin: sizes differ by at most one, labels follow the pool.</summary>
    public static int[][] Iid(int count, int sites, SeededRandom rng)
    {
        CheckSites(sites, count);
        var order = rng.Permutation(count);
        return Enumerable.Range(0, sites)
            .Select(s => order.Where((_, i) => i % sites == s).Order().ToArray())
            .ToArray();
    }

    /// <summary>
    /// Label skew: for each class, site shares are drawn from Dirichlet(α) and the class's
    /// shuffled indices are cut at those shares. Small α gives sites dominated by few classes.
    /// Redraws (up to 100 times) until every site holds at least <paramref name="minPerSite"/> samples.
    /// </summary>
    public static int[][] DirichletLabelSkew(IReadOnlyList<int> labels, int sites, double alpha, SeededRandom rng, int minPerSite = 1)
    {
        CheckSites(sites, labels.Count);
        if (!(alpha > 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Dirichlet concentration must be positive");
        if ((long)minPerSite * sites > labels.Count)
            throw new ArgumentException($"{sites} sites of at least {minPerSite} samples need {minPerSite * sites}, only {labels.Count} available.");
        var byClass = Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key).Select(g => g.ToArray()).ToList();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var parts = Enumerable.Range(0, sites).Select(_ => new List<int>()).ToArray();
            foreach (var members in byClass)
            {
                var shuffled = (int[])members.Clone();
                rng.Shuffle(shuffled);
                var shares = Dirichlet(sites, alpha, rng);
                var cuts = Cuts(shuffled.Length, shares);
                for (var s = 0; s < sites; s++) parts[s].AddRange(shuffled[cuts[s]..cuts[s + 1]]);
            }
            if (parts.All(p => p.Count >= minPerSite)) return parts.Select(p => p.Order().ToArray()).ToArray();
        }
        throw new InvalidOperationException(
            $"Dirichlet(α={alpha}) over {sites} sites left a site with fewer than {minPerSite} samples in 100 draws; raise α or lower the minimum.");
    }

    /// <summary>Quantity skew: site k (in a shuffled order) gets a share ∝ (k+1)^(−exponent); labels stay IID.</summary>
    public static int[][] PowerLawQuantitySkew(int count, int sites, double exponent, SeededRandom rng, int minPerSite = 1)
    {
        if (exponent < 0) throw new ArgumentOutOfRangeException(nameof(exponent), exponent, "must be 0 or more");
        var ranks = rng.Permutation(sites);
        return Proportional(count, ranks.Select(r => Math.Pow(r + 1, -exponent)).ToArray(), rng, minPerSite);
    }

    /// <summary>Sizes proportional to <paramref name="weights"/> (e.g. a real federation's site sizes); labels stay IID.</summary>
    public static int[][] Proportional(int count, IReadOnlyList<double> weights, SeededRandom rng, int minPerSite = 1)
    {
        var sites = weights.Count;
        CheckSites(sites, count);
        if (weights.Any(w => !(w > 0) || double.IsInfinity(w))) throw new ArgumentException("Site weights must be positive and finite.", nameof(weights));
        if ((long)minPerSite * sites > count)
            throw new ArgumentException($"{sites} sites of at least {minPerSite} samples need {minPerSite * sites}, only {count} available.");
        var total = weights.Sum();
        var shares = weights.Select(w => w / total).ToArray();
        // Reserve the minimum first, then share the rest, so tiny sites are never empty.
        var rest = count - minPerSite * sites;
        var restCuts = Cuts(rest, shares);
        var order = rng.Permutation(count);
        var parts = new int[sites][];
        var start = 0;
        for (var s = 0; s < sites; s++)
        {
            var size = minPerSite + restCuts[s + 1] - restCuts[s];
            parts[s] = order[start..(start + size)].Order().ToArray();
            start += size;
        }
        return parts;
    }

    /// <summary>Sites given per sample (e.g. a data set's centre column), in the order of <paramref name="siteOrder"/>.</summary>
    public static int[][] BySiteLabel(IReadOnlyList<string> siteOfSample, IReadOnlyList<string> siteOrder)
    {
        var position = siteOrder.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i);
        if (position.Count != siteOrder.Count) throw new ArgumentException("Site names repeat in the site order.", nameof(siteOrder));
        var parts = siteOrder.Select(_ => new List<int>()).ToArray();
        for (var i = 0; i < siteOfSample.Count; i++)
        {
            if (!position.TryGetValue(siteOfSample[i], out var s))
                throw new ArgumentException($"Sample {i} belongs to site '{siteOfSample[i]}', which is not among [{string.Join(", ", siteOrder)}].");
            parts[s].Add(i);
        }
        var empty = siteOrder.Where((_, s) => parts[s].Count == 0).ToList();
        if (empty.Count > 0) throw new ArgumentException($"No samples for site(s) {string.Join(", ", empty)}.");
        return parts.Select(p => p.ToArray()).ToArray();
    }

    /// <summary>A draw from the symmetric Dirichlet(α) over <paramref name="k"/> categories.</summary>
    public static double[] Dirichlet(int k, double alpha, SeededRandom rng)
    {
        var g = Enumerable.Range(0, k).Select(_ => rng.NextGamma(alpha)).ToArray();
        var sum = g.Sum();
        // All draws can underflow to 0 for tiny α: fall back to one site taking everything.
        if (sum <= 0) return Enumerable.Range(0, k).Select(i => i == rng.NextInt(k) ? 1.0 : 0.0).ToArray();
        return g.Select(x => x / sum).ToArray();
    }

    /// <summary>Cut points 0 = c₀ ≤ … ≤ c_k = n with c_{s+1} − c_s ≈ shares[s]·n (largest remainders).</summary>
    private static int[] Cuts(int n, IReadOnlyList<double> shares)
    {
        var exact = shares.Select(s => s * n).ToArray();
        var sizes = exact.Select(x => (int)Math.Floor(x)).ToArray();
        var left = n - sizes.Sum();
        foreach (var s in Enumerable.Range(0, shares.Count).OrderByDescending(s => exact[s] - sizes[s]).ThenBy(s => s).Take(left)) sizes[s]++;
        var cuts = new int[shares.Count + 1];
        for (var s = 0; s < shares.Count; s++) cuts[s + 1] = cuts[s] + sizes[s];
        return cuts;
    }

    private static void CheckSites(int sites, int count)
    {
        if (sites < 1) throw new ArgumentOutOfRangeException(nameof(sites), sites, "at least one site");
        if (count < sites) throw new ArgumentException($"Cannot split {count} samples over {sites} sites.");
    }
}
