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
    public void Should_equal_the_element_by_element_double_sum_bit_for_bit_at_any_length()
    {
        var rng = new Random(5);
        // Lengths around the vector width, and one long enough to use it for most of its elements.
        foreach (var length in new[] { 1, 3, 7, 8, 9, 17, 1001 })
        {
            var inputs = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, length).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray()).ToArray();
            double[] shares = [0.2, 0.3, 0.5];

            var mean = FederatedAveraging.WeightedMean(inputs.Select((v, i) => new WeightedContribution($"c{i}", Weights(v), shares[i])).ToList());

            var expected = Enumerable.Range(0, length).Select(k =>
            {
                double acc = 0;
                for (var i = 0; i < 3; i++) acc += shares[i] / shares.Sum() * inputs[i][k];
                return (float)acc;
            });
            Assert.Equal(expected, mean["w"].Values);
        }
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
