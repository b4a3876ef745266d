using FedActors.Actors.Rounds;
using FedActors.Training.Aggregation;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training;

/// <summary>The robust aggregation rules on small vectors, each result computed by hand.</summary>
public sealed class RobustAggregationSpecs
{
    private static WeightedContribution Upload(string id, double weight, params float[] values) =>
        new(id, new ModelWeights([new WeightTensor("w", [values.Length], values)]), weight);

    private static float[] Values(ModelWeights w) => w["w"].Values;

    [Fact]
    public void Should_take_each_coordinates_middle_value_and_the_mean_of_the_two_middle_ones_for_an_even_count()
    {
        // Coordinates: (1, 5, 3) → 3 and (-2, 0, 7) → 0, whatever the weights.
        var odd = RobustAggregation.CoordinateMedian([Upload("a", 1, 1, -2), Upload("b", 100, 5, 0), Upload("c", 1, 3, 7)]);
        Assert.Equal([3f, 0f], Values(odd));
        // (1, 2, 10, 4) → (2 + 4) / 2 = 3; (0, 0, 1, 1) → 0.5.
        var even = RobustAggregation.CoordinateMedian([Upload("a", 1, 1, 0), Upload("b", 1, 2, 0), Upload("c", 1, 10, 1), Upload("d", 1, 4, 1)]);
        Assert.Equal([3f, 0.5f], Values(even));
    }

    [Fact]
    public void Should_choose_by_krum_score_the_uploads_closest_to_their_n_minus_f_minus_2_nearest_others()
    {
        var five = new[] { Upload("a", 9, 0), Upload("b", 1, 1), Upload("c", 1, 2), Upload("d", 1, 3), Upload("e", 1, 100) };
        // f = 1, n = 5: k = 2 nearest. Squared distances: a → 1, 4 (5); b → 1, 1 (2); c → 1, 1 (2); d → 1, 4 (5);
        // e → 97², 98² (9409 + 9604 = 19013). Krum: b and c tie at 2, the earlier (b) wins: 1, whatever the sample counts.
        Assert.Equal([1], RobustAggregation.KrumChoice(five, 1, 1));
        Assert.Equal([1f], Values(RobustAggregation.MultiKrum(five, RobustAggregation.KrumChoice(five, 1, 1))));
        // Multi-Krum m = 3: b, c, then a and d tie at 5 and a is earlier: the plain mean of 0, 1, 2 = 1 (a's 9 samples ignored).
        Assert.Equal([0, 1, 2], RobustAggregation.KrumChoice(five, 1, 3));
        Assert.Equal([1f], Values(RobustAggregation.MultiKrum(five, RobustAggregation.KrumChoice(five, 1, 3))));
        // f = 0: k = 3. a → 1 + 4 + 9 = 14; b → 1 + 1 + 4 = 6; c → 6; d → 14; e → 9409 + 9604 + 9801. m larger than n: all.
        Assert.Equal([1, 2], RobustAggregation.KrumChoice(five, 0, 2));
        Assert.Equal([0, 1, 2, 3, 4], RobustAggregation.KrumChoice(five, 0, 9));
        // f too large for n (n < 2f + 3): one neighbour still scores (a, b, c, d all at 1: the earliest, a); a single upload is its own choice.
        Assert.Equal([0], RobustAggregation.KrumChoice(five, 10, 1));
        Assert.Equal([0], RobustAggregation.KrumChoice([Upload("a", 1, 7)], 1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RobustAggregation.KrumChoice(five, -1, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => RobustAggregation.KrumChoice(five, 1, 0));
    }

    [Fact]
    public void Should_cut_floor_beta_n_values_from_each_end_of_every_coordinate_before_the_mean()
    {
        var five = new[] { Upload("a", 1, 0, 9), Upload("b", 1, 1, 8), Upload("c", 1, 2, 7), Upload("d", 1, 3, 6), Upload("e", 1, 100, -50) };
        // β = 0.2, n = 5: k = 1. (0, 1, 2, 3, 100) → (1 + 2 + 3) / 3 = 2; (-50, 6, 7, 8, 9) → 7.
        Assert.Equal([2f, 7f], Values(RobustAggregation.TrimmedMean(five, 0.2)));
        // β = 0.4: k = 2, the median. β = 0.1: k = 0, the plain mean (106 / 5, -20 / 5).
        Assert.Equal([2f, 7f], Values(RobustAggregation.TrimmedMean(five, 0.4)));
        Assert.Equal([21.2f, -4f], Values(RobustAggregation.TrimmedMean(five, 0.1)));
        // β = 0.25, n = 4: k = 1. (1, 2, 4, 10) → 3.
        Assert.Equal([3f], Values(RobustAggregation.TrimmedMean([Upload("a", 1, 10), Upload("b", 1, 1), Upload("c", 1, 4), Upload("d", 1, 2)], 0.25)));
        Assert.Equal(1, RobustAggregation.Trimmed(5, 0.2));
        Assert.Equal(0, RobustAggregation.Trimmed(4, 0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => RobustAggregation.TrimmedMean(five, 0.5));
    }

    [Fact]
    public void Should_clip_each_change_from_the_global_to_the_bound_then_take_the_weighted_mean()
    {
        var global = new ModelWeights([new WeightTensor("w", [2], [1f, 1f])]);
        // Changes (3, 4) (norm 5) and (0, 1) (norm 1), weights 1 and 3, bound 2: (3, 4) → (1.2, 1.6), (0, 1) kept.
        // 1 + (1·(1.2, 1.6) + 3·(0, 1)) / 4 = (1.3, 2.15).
        var mean = RobustAggregation.ClippedMean(global, [Upload("a", 1, 4, 5), Upload("b", 3, 1, 2)], bound: 2);
        Assert.Equal(1.3f, Values(mean)[0], 5);
        Assert.Equal(2.15f, Values(mean)[1], 5);
        Assert.Equal(5, RobustAggregation.DeltaNorm(Upload("a", 1, 4, 5).Weights, global), 12);
    }

    private static RoundAggregation Round(params (string Id, int Samples, float[] Values)[] uploads) =>
        new(1, new ModelWeights([new WeightTensor("w", [2], [0f, 0f])]),
            uploads.Select(u => new ClientContribution(u.Id, new ModelWeights([new WeightTensor("w", [2], u.Values)]), u.Samples, MethodPayloads.Empty)).ToList(),
            new FederatedAveragingServer());

    [Fact]
    public void Should_report_equal_weights_summing_to_one_for_median_and_trimmed_mean_and_sample_weights_for_the_clipped_mean()
    {
        var round = Round(("a", 10, [3, 4]), ("b", 30, [0, 1]), ("c", 60, [0, 2]));
        foreach (var kind in new[] { AggregationKind.Median, AggregationKind.TrimmedMean })
        {
            var aggregate = new RobustStrategy(new RoundRules(), new AggregationRule(kind, TrimFraction: 0.34)).Aggregate(round);
            Assert.All(aggregate.ClientWeights.Values, w => Assert.Equal(1.0 / 3, w, 12));
            Assert.Equal([0f, 2f], Values(aggregate.Global)); // k = 1 of 3: the median
        }
        // Change norms 5, 1, 2: median 2, × clip factor 0.5 = bound 1. (3,4) → (0.6, 0.8); (0,2) → (0, 1); (0,1) kept.
        // (10·(0.6, 0.8) + 30·(0, 1) + 60·(0, 1)) / 100 = (0.06, 0.98).
        var clipped = new RobustStrategy(new RoundRules(), new AggregationRule(AggregationKind.ClippedMean, ClipFactor: 0.5)).Aggregate(round);
        Assert.Equal(0.06f, Values(clipped.Global)[0], 5);
        Assert.Equal(0.98f, Values(clipped.Global)[1], 5);
        Assert.Equal([0.1, 0.3, 0.6], clipped.ClientWeights.OrderBy(w => w.Key).Select(w => Math.Round(w.Value, 12)));
        Assert.Equal(1, clipped.ClientWeights.Values.Sum(), 12);
    }

    [Fact]
    public void Should_range_check_the_rules_parameters_naming_their_keys()
    {
        Assert.Contains("fedactors.rounds.trim-fraction", Assert.Throws<ArgumentOutOfRangeException>(() => new AggregationRule(AggregationKind.TrimmedMean, TrimFraction: 0.5).Validate()).Message);
        Assert.Contains("fedactors.rounds.clip-factor", Assert.Throws<ArgumentOutOfRangeException>(() => new AggregationRule(AggregationKind.ClippedMean, ClipFactor: 0).Validate()).Message);
        Assert.Contains("fedactors.rounds.update-norm-factor", Assert.Throws<ArgumentOutOfRangeException>(() => new UpdateNormBound(UpdateNormMode.Reject, 0.5).Validate()).Message);
    }
}
