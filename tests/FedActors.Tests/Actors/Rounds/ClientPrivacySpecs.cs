using FedActors.Actors.Coordination;
using FedActors.Actors.Rounds;
using FedActors.Training.Aggregation;
using FedActors.Training.Methods;
using FedActors.Training.Privacy;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Tests.Actors.Rounds;

/// <summary>Client-level DP-FedAvg: clipping, the noise's scale and seed, and the ε each round reports.</summary>
public sealed class ClientPrivacySpecs
{
    private static WeightedContribution Upload(string id, double samples, params float[] values) =>
        new(id, new ModelWeights([new WeightTensor("w", [values.Length], values)]), samples);

    private static ModelWeights Vector(params float[] values) => new([new WeightTensor("w", [values.Length], values)]);

    [Fact]
    public void Should_clip_each_change_to_the_norm_and_average_alike_whatever_the_sample_counts()
    {
        // g = (1, 1). Changes: a (3, 4) has norm 5, clipped to S = 1: (0.6, 0.8); b (0, 0.5) is kept. With noise negligible
        // (z = 1e-12) the result is g + ((0.6, 0.8) + (0, 0.5)) / 2 = (1.3, 1.65), b's 1000 samples counting for nothing.
        var privacy = new ClientPrivacy(NoiseMultiplier: 1e-12, ClipNorm: 1);
        var result = privacy.Aggregate(Vector(1, 1), [Upload("a", 1, 4, 5), Upload("b", 1000, 1, 1.5f)], new SeededRandom(3));
        Assert.Equal(1.3f, result["w"].Values[0], 5);
        Assert.Equal(1.65f, result["w"].Values[1], 5);
    }

    [Fact]
    public void Should_add_noise_of_z_times_s_to_the_sum_drawn_from_the_rounds_seed_alone()
    {
        // Two uploads equal to g: the result is g + N(0, (z S)^2) / 2 per coordinate. Over 20,000 coordinates the sample
        // standard deviation of 2 × (result − g) is z S = 0.5 × 2 = 1 within 3 %, and its mean 0 within 0.05.
        const int n = 20_000;
        var g = Vector(new float[n]);
        var privacy = new ClientPrivacy(NoiseMultiplier: 0.5, ClipNorm: 2);
        var strategy = new PrivateStrategy(new CoordinatorSettings().Rules, privacy, seed: 9);
        ModelWeights Round(int round) => strategy.Aggregate(new RoundAggregation(round, g,
            [new ClientContribution("a", g, 5, MethodPayloads.Empty), new ClientContribution("b", g, 5, MethodPayloads.Empty)], new FederatedAveragingServer())).Global;
        var noise = Round(4)["w"].Values.Select(v => 2.0 * v).ToArray();
        var mean = noise.Average();
        var std = Math.Sqrt(noise.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        Assert.InRange(std, 0.97, 1.03);
        Assert.InRange(mean, -0.05, 0.05);
        Assert.Equal(Round(4)["w"].Values, Round(4)["w"].Values);     // the same round, the same noise
        Assert.NotEqual(Round(4)["w"].Values, Round(5)["w"].Values);  // another round, other noise
    }

    [Fact]
    public void Should_report_each_upload_at_one_over_n_and_epsilon_from_the_accountant()
    {
        var g = Vector(0, 0);
        var strategy = new PrivateStrategy(new CoordinatorSettings().Rules, new ClientPrivacy(1.0, 1.0), 1);
        var aggregate = strategy.Aggregate(new RoundAggregation(1, g,
            [new ClientContribution("a", Vector(1, 0), 5, MethodPayloads.Empty), new ClientContribution("b", Vector(0, 1), 500, MethodPayloads.Empty),
             new ClientContribution("c", Vector(1, 1), 50, MethodPayloads.Empty)], new FederatedAveragingServer()));
        Assert.All(aggregate.ClientWeights.Values, w => Assert.Equal(1.0 / 3, w, 12));

        var privacy = new ClientPrivacy(1.1, 1.0, 1e-5);
        Assert.Equal(RdpAccountant.Epsilon(0.25, 1.1, 7, 1e-5).Epsilon, privacy.EpsilonAfter(7, 0.25), 12);
        Assert.Equal(0, privacy.EpsilonAfter(0, 0.25));
        Assert.Equal(0, ClientPrivacy.Off.EpsilonAfter(7, 0.25));
    }

    [Fact]
    public void Should_report_each_rounds_epsilon_in_its_summary_and_refuse_privacy_beside_a_robust_rule()
    {
        var settings = new CoordinatorSettings { Rounds = 4, MinParticipants = 2, SampleFraction = 0.5, Seed = 5, Privacy = new ClientPrivacy(1.0, 0.5, 1e-5) };
        var run = new EngineHarness(settings, 4, 8).Run();
        var epsilons = run.Completed!.Rounds.Select(r => r.PrivacyEpsilon).ToList();
        // q = 2 of 4 hospitals per round; round r has spent r rounds' worth.
        Assert.Equal(Enumerable.Range(1, 4).Select(r => RdpAccountant.Epsilon(0.5, 1.0, r, 1e-5).Epsilon), epsilons);
        Assert.IsType<PrivateStrategy>(settings.CreateStrategy());
        Assert.Equal(0, new EngineHarness(settings with { Privacy = ClientPrivacy.Off }, 4, 8).Run().Completed!.Rounds[^1].PrivacyEpsilon);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => (settings with { Aggregation = new AggregationRule(AggregationKind.Median) }).Validate());
        Assert.Contains("fedactors.rounds.dp-noise-multiplier", e.Message);
        Assert.Contains("fedavg", e.Message);
    }
}
