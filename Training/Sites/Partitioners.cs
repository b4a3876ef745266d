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

    /// <summary>
    /// Unequal sizes with label skew (a FLamby-like federation): site i holds a share ∝ <paramref name="siteWeights"/>[i]
    /// of the images, and each class is spread over the sites unevenly. Class c's spread starts as d_c ~ Dirichlet(α)
    /// over the sites (the same α as <see cref="DirichletLabelSkew"/>; uniform without skew); the matrix of all classes
    /// is then scaled (Sinkhorn) until its site totals follow the weights and its class totals follow
    /// <paramref name="classPrior"/>, so the skew reshapes each site's labels without changing its size. Returns
    /// shares[c][i], each class's row summing to 1: draw it once and apply it to train and test alike.
    /// </summary>
    public static double[][] SizedLabelSkew(IReadOnlyList<double> siteWeights, IReadOnlyList<double> classPrior, double? alpha, SeededRandom rng)
    {
        if (siteWeights.Count < 1 || siteWeights.Any(w => !(w > 0) || double.IsInfinity(w)))
            throw new ArgumentException("Site weights must be positive and finite, at least one.", nameof(siteWeights));
        if (classPrior.Count < 1 || classPrior.Any(p => !(p >= 0) || double.IsInfinity(p)) || !(classPrior.Sum() > 0))
            throw new ArgumentException("The class prior must be non-negative and finite, with a positive total.", nameof(classPrior));
        if (alpha is { } a && !(a > 0)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Dirichlet concentration must be positive");
        var (sites, classes) = (siteWeights.Count, classPrior.Count);
        // Floor each draw: Dirichlet shares underflow to exact zeros at small α, which scaling cannot move.
        var m = Enumerable.Range(0, classes).Select(_ =>
            alpha is { } a ? Dirichlet(sites, a, rng).Select(x => Math.Max(x, 1e-6)).ToArray() : Enumerable.Repeat(1.0, sites).ToArray()).ToArray();
        var rows = siteWeights.Select(w => w / siteWeights.Sum()).ToArray();
        var columns = classPrior.Select(p => p / classPrior.Sum()).ToArray();
        for (var iteration = 0; iteration < 500; iteration++)
        {
            for (var c = 0; c < classes; c++)
            {
                var total = m[c].Sum();
                for (var i = 0; i < sites; i++) m[c][i] *= columns[c] / total;
            }
            for (var i = 0; i < sites; i++)
            {
                var total = Enumerable.Range(0, classes).Sum(c => m[c][i]);
                for (var c = 0; c < classes; c++) m[c][i] *= rows[i] / total;
            }
        }
        return m.Select(row => row.Sum() is var total && total > 0 ? row.Select(x => x / total).ToArray() : rows.ToArray()).ToArray();
    }

    /// <summary>counts[i][c]: class c's <paramref name="classTotals"/> cut by <see cref="SizedLabelSkew"/>'s shares (largest remainder).</summary>
    public static int[][] CountsOf(IReadOnlyList<int> classTotals, double[][] shares)
    {
        if (classTotals.Count != shares.Length) throw new ArgumentException($"{classTotals.Count} class totals for {shares.Length} classes of shares.");
        var sites = shares[0].Length;
        var counts = Enumerable.Range(0, sites).Select(_ => new int[classTotals.Count]).ToArray();
        for (var c = 0; c < classTotals.Count; c++)
        {
            var cuts = Cuts(classTotals[c], shares[c]);
            for (var i = 0; i < sites; i++) counts[i][c] = cuts[i + 1] - cuts[i];
        }
        return counts;
    }

    /// <summary>Deals each class's samples (shuffled) to the sites by <paramref name="counts"/>[site][class]; the counts must use every sample.</summary>
    public static int[][] Deal(IReadOnlyList<int> labels, int[][] counts, SeededRandom rng)
    {
        var classes = counts[0].Length;
        var byClass = Enumerable.Range(0, classes).Select(c => Enumerable.Range(0, labels.Count).Where(i => labels[i] == c).ToArray()).ToArray();
        for (var c = 0; c < classes; c++)
        {
            if (byClass[c].Length != counts.Sum(site => site[c]))
                throw new ArgumentException($"Class {c} has {byClass[c].Length} samples, the counts deal {counts.Sum(site => site[c])}.");
            rng.Shuffle(byClass[c]);
        }
        var taken = new int[classes];
        return counts.Select(site => Enumerable.Range(0, classes).SelectMany(c =>
        {
            var part = byClass[c][taken[c]..(taken[c] + site[c])];
            taken[c] += site[c];
            return part;
        }).Order().ToArray()).ToArray();
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
