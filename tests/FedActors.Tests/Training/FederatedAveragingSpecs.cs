using FedActors.Training.Aggregation;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training;

public class FederatedAveragingSpecs
{
    private static ModelWeights Weights(params float[] values) =>
        new([new WeightTensor("w", [values.Length], values)]);

    [Fact]
    public void Should_equal_the_sample_weighted_mean()
    {
        var mean = FederatedAveraging.WeightedMean(
        [
            new WeightedContribution("a", Weights(1, 2), 1),
            new WeightedContribution("b", Weights(4, 8), 3),
        ]);
        Assert.Equal([3.25f, 6.5f], mean["w"].Values);
    }

    [Fact]
    public void Should_name_the_contributor_whose_tensors_do_not_match()
    {
        var bad = new ModelWeights([new WeightTensor("v", [2], [1, 2])]);
        var e = Assert.Throws<ArgumentException>(() => FederatedAveraging.WeightedMean(
            [new WeightedContribution("a", Weights(1, 2), 1), new WeightedContribution("hospital-07", bad, 1)]));
        Assert.Contains("hospital-07", e.Message);
    }

    [Fact]
    public void Should_refuse_to_aggregate_nothing() =>
        Assert.Throws<ArgumentException>(() => FederatedAveraging.WeightedMean([]));
}
