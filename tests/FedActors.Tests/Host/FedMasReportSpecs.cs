using FedActors.Host.Reports;

namespace FedActors.Tests.Host;

/// <summary>The Fed-MAS report sections: the plateau rule, Welch's test, and the robust factors per round.</summary>
public sealed class FedMasReportSpecs
{
    private static List<(int, double)> Series(params double[] values) => values.Select((v, i) => (i + 1, v)).ToList();

    [Fact]
    public void Should_stop_k_rounds_after_the_last_gain_larger_than_epsilon()
    {
        // Gains at rounds 2 (0.40 > 0.30 + 0.01) and 4 (0.50); round 5's +0.005 and round 7's +0.01 are not gains (not more than ε).
        var plateau = PlateauRule.Find(Series(0.30, 0.40, 0.40, 0.50, 0.505, 0.49, 0.51, 0.50), epsilon: 0.01, patience: 3);

        Assert.Equal(4, plateau.LastGain);
        Assert.Equal(7, plateau.StopRound);
        Assert.True(plateau.Reached);
    }

    [Fact]
    public void Should_say_a_run_still_improving_in_its_last_k_rounds_has_not_reached_the_plateau()
    {
        var plateau = PlateauRule.Find(Series(0.30, 0.31, 0.33, 0.32, 0.36, 0.36), epsilon: 0.01, patience: 2);

        Assert.Equal(5, plateau.LastGain);
        Assert.Null(plateau.StopRound);
        Assert.False(plateau.Reached);
        // Evaluated rounds need not be consecutive: k counts evaluated rounds, the stop round is a round number.
        Assert.Equal(new Plateau(5, 20), PlateauRule.Find([(5, 0.5), (10, 0.5), (15, 0.5), (20, 0.5)], 0.01, 3));
        Assert.Throws<ArgumentException>(() => PlateauRule.Find([(2, 0.5), (1, 0.6)]));
        Assert.Throws<ArgumentException>(() => PlateauRule.Find(Series(0.5), patience: 0));
    }

    [Fact]
    public void Should_give_welchs_t_its_satterthwaite_degrees_of_freedom_and_the_two_sided_p()
    {
        // a = 1, 2, 3 and b = 4, 5, 6: variances 1, t = −3 / √(2/3) = −3.674, df = (2/3)² / (2 · (1/3)² / 2) = 4.
        var w = WelchTest.Compare([1, 2, 3], [4, 5, 6]);

        Assert.Equal(-3, w.Difference, 12);
        Assert.Equal(-3 / Math.Sqrt(2.0 / 3), w.T, 12);
        Assert.Equal(4, w.DegreesOfFreedom, 12);
        // Student's t with 4 df: P(|T| ≥ t) = 1 − t(t² + 6) / (t² + 4)^(3/2); t² = 13.5 → 1 − 3.674 · 19.5 / 17.5^1.5 = 0.0214.
        var t = Math.Abs(w.T);
        Assert.Equal(1 - t * (t * t + 6) / Math.Pow(t * t + 4, 1.5), w.P, 10);
        Assert.True(w.Differs());
        // Closed forms: with 1 df (Cauchy) P(|T| ≥ 1) = 1/2; with 2 df P(|T| ≥ t) = 1 − t / √(2 + t²).
        Assert.Equal(0.5, WelchTest.TwoSidedP(1, 1), 10);
        Assert.Equal(1 - 2 / Math.Sqrt(6), WelchTest.TwoSidedP(2, 2), 10);
        Assert.Equal(1, WelchTest.TwoSidedP(0, 7), 12);
        // Overlapping samples do not differ.
        Assert.False(WelchTest.Compare([0.3, 0.5, 0.4], [0.45, 0.35, 0.6]).Differs());
    }

    private static ReportedRun Run(string method, int seed, string aggregation, string? classifier = null, double balanced = double.NaN)
    {
        static List<IReadOnlyDictionary<string, string>> Rows(string csv)
        {
            var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var header = lines[0].Split(',');
            return lines.Skip(1).Select(l => (IReadOnlyDictionary<string, string>)header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
        }
        var config = new Dictionary<string, string> { ["fedactors.method"] = method, [ReportedRun.SeedKey] = seed.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        return new ReportedRun($"runs/{method}-{seed}", config, [], double.IsNaN(balanced) ? [] : Rows($"protocol,round,balanced_accuracy\nglobal-classifier,3,{balanced}\n"))
        {
            Aggregation = Rows(aggregation),
            ClassifierRounds = classifier is null ? [] : Rows(classifier),
        };
    }

    [Fact]
    public void Should_tabulate_each_hospitals_robust_factor_and_weight_per_round_as_logged()
    {
        ReportedRun[] runs =
        [
            Run("fedmas", 1, "round,hospital,weight,robust_factor\n1,h1,0.25,0.1\n1,h2,0.75,0.3\n2,h1,0.5,0.2\n2,h2,0.5,0.2\n"),
            Run("fedmas", 2, "round,hospital,weight,robust_factor\n1,h1,0.75,0.3\n1,h2,0.25,0.1\n2,h1,0.5,0.4\n2,h2,0.5,0.4\n"),
            Run("fedavg-ce", 1, "round,hospital,weight,robust_factor\n1,h1,0.6,\n1,h2,0.4,\n"),
        ];

        var section = FedMasSections.RobustFactors(runs)!.Replace("\r\n", "\n");

        // Mean over seeds: round 1 h1 RF (0.1 + 0.3) / 2, weight (0.25 + 0.75) / 2; each seed's weights sum to 1.
        Assert.Contains("| round | h1 | h2 | Σ weight |", section);
        Assert.Contains("| 1 | 0.200 / 0.500 | 0.200 / 0.500 | 1.000 |", section);
        Assert.Contains("| 2 | 0.300 / 0.500 | 0.300 / 0.500 | 1.000 |", section);
        // Only the method that logged a factor gets the table.
        Assert.DoesNotContain("fedavg-ce", section);
        Assert.Null(FedMasSections.RobustFactors([runs[2]]));
    }

    [Fact]
    public void Should_list_each_runs_plateau_and_compare_the_first_variant_by_welchs_test()
    {
        const string rising = "round,validation_balanced_accuracy\n1,0.3\n2,0.4\n3,0.4\n4,0.4\n";
        const string flat = "round,validation_balanced_accuracy\n1,0.3\n2,0.3\n3,0.5\n4,0.5\n";
        ReportedRun[] runs =
        [
            Run("fedmas", 1, "round,hospital,weight\n", rising, 0.30), Run("fedmas", 2, "round,hospital,weight\n", rising, 0.32), Run("fedmas", 3, "round,hospital,weight\n", rising, 0.31),
            Run("fedavg-bsm", 1, "round,hospital,weight\n", flat, 0.60), Run("fedavg-bsm", 2, "round,hospital,weight\n", flat, 0.62), Run("fedavg-bsm", 3, "round,hospital,weight\n", flat, 0.61),
        ];

        var length = FedMasSections.TrainingLength(runs, 0.01, 2)!;
        var comparison = FedMasSections.Comparison(runs, "balanced_accuracy")!;

        // rising: gain at 2, rounds 3 and 4 without → stops at 4. flat: the gain at round 3 leaves one round, fewer than k → not reached.
        Assert.Contains("| method=fedmas | 1 | 4 | 3 | 2 | 4 |", length);
        Assert.Contains("| method=fedavg-bsm | 2 | 4 | 3 | 3 | not reached |", length);
        // 0.31 against 0.61, each with std 0.01: t = −0.3 / √(2 · 0.0001 / 3) = −36.74, df 4.
        Assert.Contains("| method=fedavg-bsm | 3, 3 | -0.300 | -36.74 | 4.0 | 0.000 | yes |", comparison);
    }
}
