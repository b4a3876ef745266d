using CsCheck;
using FedActors.Actors.Simulation;
using FedActors.Training.Randomness;

namespace FedActors.Tests.Actors.Simulation;

/// <summary>
/// <see cref="ValueDistribution"/>: the constant, uniform and lognormal draws behind speed factors and bandwidths.
/// Properties run on fixed cases (<see cref="SeededProperty"/>); statistical checks use fixed seeds and bounds that a
/// correct sampler meets for all but a 1e-9 share of seeds, so each is a constant of the code, never a coin toss.
/// </summary>
public sealed class ValueDistributionSpecs
{
    private const int Draws = 20_000;
    // ln(2/δ) for δ = 1e-9: the two-sided tail budget of every bound below.
    private static readonly double LogTail = Math.Log(2 / 1e-9);

    private static double[] Sample(ValueDistribution d, ulong seed, int n = Draws)
    {
        var rng = new SeededRandom(seed);
        return [.. Enumerable.Range(0, n).Select(_ => d.Sample(rng))];
    }

    [Fact]
    public void Should_always_draw_a_constants_value()
    {
        SeededProperty.ForAll(Gen.Select(Gen.Double[1e-6, 1e6], Gen.ULong), t =>
        {
            var (value, seed) = t;
            Assert.All(Sample(ValueDistribution.Constant(value), seed, 20), v => Assert.Equal(value, v));
        });
    }

    [Fact]
    public void Should_draw_a_uniform_within_min_and_max()
    {
        var ranges = Gen.Select(Gen.Double[1e-3, 1e3], Gen.Double[0, 1e3]).Select((min, width) => (min, max: min + width));
        SeededProperty.ForAll(Gen.Select(ranges, Gen.ULong), t =>
        {
            var ((min, max), seed) = t;
            Assert.All(Sample(ValueDistribution.Uniform(min, max), seed, 200), v => Assert.InRange(v, min, max));
        });
    }

    [Fact]
    public void Should_draw_the_same_values_from_the_same_seed_and_other_values_from_another()
    {
        foreach (var d in new[] { ValueDistribution.Uniform(1, 4), ValueDistribution.LogNormal(50, 0.5) })
        {
            Assert.Equal(Sample(d, 42, 50), Sample(d, 42, 50));
            // Continuous draws from two seeds coincide with probability ~2^-53 each; the seeds are fixed.
            Assert.Empty(Sample(d, 42, 50).Intersect(Sample(d, 43, 50)));
        }
    }

    /// <summary>
    /// The sample mean of a uniform(min, max) is within Hoeffding's bound of (min + max) / 2:
    /// P(|mean − μ| ≥ t) ≤ 2·exp(−2Nt² / (max − min)²).
    /// </summary>
    [Theory]
    [InlineData(1.0, 4.0, 21UL)]
    [InlineData(0.5, 0.6, 22UL)]
    [InlineData(10.0, 1000.0, 23UL)]
    public void Should_have_the_mean_of_its_uniform(double min, double max, ulong seed)
    {
        var values = Sample(ValueDistribution.Uniform(min, max), seed);
        var tolerance = (max - min) * Math.Sqrt(LogTail / (2.0 * Draws));
        Assert.InRange(values.Average(), (min + max) / 2 - tolerance, (min + max) / 2 + tolerance);
        // And it is spread over the range, not a point inside it: a quarter of the draws fall in each quarter.
        var quarterTolerance = Math.Sqrt(LogTail / (2.0 * Draws));
        for (var q = 0; q < 4; q++)
        {
            var (lo, hi) = (min + q * (max - min) / 4, min + (q + 1) * (max - min) / 4);
            Assert.InRange(values.Count(v => v >= lo && v < hi) / (double)Draws, 0.25 - quarterTolerance, 0.25 + quarterTolerance);
        }
    }

    /// <summary>
    /// A lognormal(median m, sigma s) is m·exp(s·Z): positive, half its draws below m (a Bernoulli(1/2) count,
    /// Hoeffding), and its logs have mean ln m and standard deviation s (Z̄ is N(0, 1/N): P(|Z̄| ≥ t) ≤ 2·exp(−Nt²/2)).
    /// </summary>
    [Theory]
    [InlineData(50.0, 0.5, 31UL)]
    [InlineData(1.0, 1.5, 32UL)]
    [InlineData(0.2, 0.05, 33UL)]
    public void Should_have_the_median_and_log_spread_of_its_lognormal(double median, double sigma, ulong seed)
    {
        var values = Sample(ValueDistribution.LogNormal(median, sigma), seed);
        Assert.All(values, v => Assert.True(v > 0 && double.IsFinite(v), $"{v} is not a positive finite draw"));

        var below = values.Count(v => v < median) / (double)Draws;
        var halfTolerance = Math.Sqrt(LogTail / (2.0 * Draws));
        Assert.InRange(below, 0.5 - halfTolerance, 0.5 + halfTolerance);

        var logs = values.Select(v => Math.Log(v)).ToArray();
        var meanTolerance = sigma * Math.Sqrt(2 * LogTail / Draws);
        Assert.InRange(logs.Average(), Math.Log(median) - meanTolerance, Math.Log(median) + meanTolerance);
        // The sample variance of N(0, 1) draws: within 10% of 1 for N = 20 000 (its sd is sqrt(2/N) ≈ 0.01, so 10% is
        // ten standard deviations; chi-square tails beyond that are below 1e-9).
        var logMean = logs.Average();
        var sd = Math.Sqrt(logs.Sum(l => (l - logMean) * (l - logMean)) / (Draws - 1));
        Assert.InRange(sd, sigma * Math.Sqrt(0.9), sigma * Math.Sqrt(1.1));
    }

    [Fact]
    public void Should_draw_exactly_the_median_of_a_lognormal_without_spread()
    {
        SeededProperty.ForAll(Gen.Select(Gen.Double[1e-3, 1e4], Gen.ULong), t =>
        {
            var (median, seed) = t;
            Assert.All(Sample(ValueDistribution.LogNormal(median, 0), seed, 20), v => Assert.Equal(median, v));
        });
    }

    /// <summary>Which (kind, a, b) <see cref="ValueDistribution.Validate"/> must accept: the rules of its summary.</summary>
    private static bool IsValid(string kind, double a, double b) => kind switch
    {
        ValueDistribution.ConstantKind => a > 0 && double.IsFinite(a),
        ValueDistribution.UniformKind => a > 0 && b >= a && double.IsFinite(b),
        ValueDistribution.LogNormalKind => a > 0 && b >= 0 && double.IsFinite(a) && double.IsFinite(b),
        _ => false,
    };

    [Fact]
    public void Should_accept_exactly_the_valid_parameters_and_name_the_setting_in_every_refusal()
    {
        var parameter = Gen.OneOf(Gen.Double[-10, 10], Gen.OneOf(0.0, 1.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity));
        var kinds = Gen.OneOf(ValueDistribution.Kinds.Append("pareto").ToArray());
        SeededProperty.ForAll(Gen.Select(kinds, parameter, parameter), t =>
        {
            var (kind, a, b) = t;
            var d = new ValueDistribution(kind, a, b);
            if (IsValid(kind, a, b))
            {
                d.Validate("speed factor");
                Assert.True(d.Sample(new SeededRandom(1)) > 0);
                return;
            }
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => d.Validate("speed factor"));
            Assert.Equal("speed factor", e.ParamName);
            Assert.StartsWith("speed factor: ", e.Message);
            Assert.Contains(kind == "pareto" ? "unknown distribution 'pareto' (expected constant, uniform, lognormal)" : $"found ", e.Message);
        }, cases: 400);
    }

    [Fact]
    public void Should_refuse_to_sample_an_unknown_kind()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new ValueDistribution("pareto", 1, 2).Sample(new SeededRandom(1)));
        Assert.Contains("'pareto'", e.Message);
    }

    [Fact]
    public void Should_describe_itself_with_its_parameters()
    {
        Assert.Equal("constant(2)", ValueDistribution.Constant(2).ToString());
        Assert.Equal("uniform(1, 4)", ValueDistribution.Uniform(1, 4).ToString());
        Assert.Equal("lognormal(median 50, sigma 0.5)", ValueDistribution.LogNormal(50, 0.5).ToString());
    }
}
