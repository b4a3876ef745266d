using System.Globalization;

namespace FedActors.Host.Benchmarks;

/// <summary>
/// The median of paired ratios with a distribution-free confidence interval: the order statistics
/// x₍ₖ₎ and x₍ₙ₊₁₋ₖ₎ cover the median with probability 1 − 2·P(Binomial(n, ½) ≤ k − 1), whatever the
/// distribution of the ratios (a round slowed by other load is an outlier, not a shift of the mean).
/// </summary>
/// <param name="Median">The median ratio.</param>
/// <param name="Low">The interval's lower end.</param>
/// <param name="High">The interval's upper end.</param>
/// <param name="Coverage">The interval's exact coverage (at least the asked confidence when there are enough pairs; less with very few).</param>
/// <param name="Pairs">How many paired ratios.</param>
public sealed record RatioInterval(double Median, double Low, double High, double Coverage, int Pairs)
{
    /// <summary>The interval's width.</summary>
    public double Width => High - Low;

    /// <summary>Whether the interval covers the median with at least 90 % (else too few pairs to decide anything).</summary>
    public bool IsDecisive => Coverage >= 0.9;

    /// <summary>True only when the whole interval is at or under <paramref name="target"/>.</summary>
    public bool IsUnder(double target) => High <= target;

    /// <summary>The interval of the median of <paramref name="ratios"/> at <paramref name="confidence"/> (or the widest there is, from the extremes, when too few).</summary>
    public static RatioInterval Of(IReadOnlyCollection<double> ratios, double confidence = 0.95)
    {
        if (ratios.Count == 0) throw new ArgumentException("no ratios to summarise", nameof(ratios));
        var x = ratios.Order().ToArray();
        var n = x.Length;
        var median = n % 2 == 1 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
        // The largest k with P(B ≤ k − 1) ≤ (1 − confidence) / 2; at least 1 (the extremes).
        var k = 1;
        while (k < n / 2 + 1 && BinomialHalfCdf(n, k) <= (1 - confidence) / 2) k++;
        var coverage = 1 - 2 * BinomialHalfCdf(n, k - 1);
        return new RatioInterval(median, x[k - 1], x[n - k], coverage, n);
    }

    /// <summary>P(Binomial(n, ½) ≤ m).</summary>
    /// <param name="n">Trials.</param>
    /// <param name="m">Successes at most.</param>
    public static double BinomialHalfCdf(int n, int m)
    {
        if (m < 0) return 0;
        double term = Math.Pow(0.5, n), sum = 0; // C(n, 0) / 2ⁿ, then C(n, i) / 2ⁿ by the recurrence
        for (var i = 0; i <= Math.Min(m, n); i++)
        {
            sum += term;
            term = term * (n - i) / (i + 1);
        }
        return Math.Min(sum, 1);
    }

    /// <summary>E.g. <c>1.132 [1.104, 1.171] (95 % of 28 paired rounds)</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Median:F3} [{Low:F3}, {High:F3}] ({Coverage * 100:F0} % interval of the median, {Pairs} paired rounds)");
}

/// <summary>When an interleaved comparison stops: enough blocks and intervals narrow enough, the block limit, or the time cap.</summary>
/// <param name="MinBlocks">Blocks run whatever the intervals say.</param>
/// <param name="MaxBlocks">Blocks run at most.</param>
/// <param name="Width">Stop once every variant's interval is at most this wide (e.g. a target's margin, 0.05 for ≤ 1.05).</param>
/// <param name="TimeCap">No block starts after this much time.</param>
public sealed record InterleavingLimits(int MinBlocks, int MaxBlocks, double Width, TimeSpan TimeCap);

/// <summary>One variant's comparison with the baseline.</summary>
/// <param name="Name">The variant.</param>
/// <param name="Ratio">Its steady round's seconds over the baseline's, round for round within each block.</param>
/// <param name="Runs">Each block's run of it.</param>
public sealed record VariantRatio(string Name, RatioInterval Ratio, IReadOnlyList<TimedRounds> Runs);

/// <summary>What an interleaved comparison measured.</summary>
/// <param name="Baseline">The baseline's runs, one per block.</param>
/// <param name="Variants">Each other variant against the baseline.</param>
/// <param name="Blocks">Blocks run.</param>
/// <param name="Stopped">Why it stopped.</param>
/// <param name="SameModel">Whether every run of every variant ended on the same final model.</param>
public sealed record InterleavedComparison(IReadOnlyList<TimedRounds> Baseline, IReadOnlyList<VariantRatio> Variants, int Blocks, string Stopped, bool SameModel);

/// <summary>
/// Runs the variants of a comparison in blocks, every variant once per block, the order rotated from block to
/// block (so none is always first or last), and pairs each variant's steady rounds with the baseline's of the
/// same block, round for round: load that comes and goes on a shared machine hits both sides of a pair alike or
/// shows as an outlier, instead of becoming the ratio. Blocks repeat until every interval is narrow enough, or a
/// limit is reached.
/// </summary>
public static class InterleavedRounds
{
    /// <summary>Compares <paramref name="variants"/> with <paramref name="baseline"/>.</summary>
    /// <param name="baseline">The reference way of running the rounds.</param>
    /// <param name="variants">The ways compared with it (same rounds, same work).</param>
    /// <param name="limits">When to stop.</param>
    /// <param name="elapsed">Time since the comparison started (a stopwatch's, or a test's).</param>
    /// <param name="progress">Told of each block's ratios as it ends; may be null.</param>
    public static InterleavedComparison Compare((string Name, Func<TimedRounds> Run) baseline,
        IReadOnlyList<(string Name, Func<TimedRounds> Run)> variants, InterleavingLimits limits, Func<TimeSpan> elapsed, Action<string>? progress = null)
    {
        if (variants.Count == 0) throw new ArgumentException("nothing to compare with the baseline", nameof(variants));
        if (limits.MinBlocks < 1 || limits.MaxBlocks < limits.MinBlocks)
            throw new ArgumentOutOfRangeException(nameof(limits), limits, "need 1 ≤ MinBlocks ≤ MaxBlocks");
        var all = new[] { baseline }.Concat(variants).ToList();
        var runs = all.Select(_ => new List<TimedRounds>()).ToList();
        var ratios = variants.Select(_ => new List<double>()).ToList();
        var blocks = 0;
        string stopped;
        while (true)
        {
            for (var i = 0; i < all.Count; i++)
            {
                var v = (i + blocks) % all.Count;
                runs[v].Add(all[v].Run());
            }
            var baseRun = runs[0][blocks];
            for (var v = 0; v < variants.Count; v++)
                ratios[v].AddRange(SteadyRatios(runs[v + 1][blocks], baseRun, variants[v].Name));
            blocks++;
            progress?.Invoke($"block {blocks}: " + string.Join("; ", variants.Select((x, v) => $"{x.Name}/{baseline.Name} {RatioInterval.Of(ratios[v])}")));
            if (blocks < limits.MinBlocks) continue;
            if (ratios.All(r => RatioInterval.Of(r).Width <= limits.Width)) { stopped = string.Create(CultureInfo.InvariantCulture, $"every interval at most {limits.Width:G3} wide"); break; }
            if (blocks >= limits.MaxBlocks) { stopped = $"the block limit ({limits.MaxBlocks})"; break; }
            if (elapsed() >= limits.TimeCap) { stopped = $"the time cap ({limits.TimeCap.TotalMinutes:G3} min)"; break; }
        }
        var hashes = runs.SelectMany(r => r).Select(r => r.FinalHash).Distinct().Count();
        return new InterleavedComparison(runs[0], variants.Select((v, i) => new VariantRatio(v.Name, RatioInterval.Of(ratios[i]), runs[i + 1])).ToList(),
            blocks, stopped, hashes == 1);
    }

    /// <summary>Round r's seconds of <paramref name="run"/> over the baseline's, for the steady rounds (not the first, not the last).</summary>
    public static IEnumerable<double> SteadyRatios(TimedRounds run, TimedRounds baseline, string name)
    {
        if (run.Seconds.Count != baseline.Seconds.Count)
            throw new InvalidOperationException($"{name} ran {run.Seconds.Count} rounds, the baseline {baseline.Seconds.Count}: not the same work");
        if (run.Seconds.Count < 3) throw new InvalidOperationException($"{name} ran {run.Seconds.Count} rounds: a steady round needs at least 3");
        for (var r = 1; r < run.Seconds.Count - 1; r++) yield return run.Seconds[r] / baseline.Seconds[r];
    }
}
