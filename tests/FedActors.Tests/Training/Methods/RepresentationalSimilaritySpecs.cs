using FedActors.Training;
using FedActors.Training.Methods;
using FedActors.Training.Models;
using FedActors.Training.Randomness;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Methods;

public sealed class RepresentationalSimilaritySpecs
{
    private static Tensor ProbeImages(int batch, long seed)
    {
        using var generator = new Generator((ulong)seed);
        return TorchDraws.Rand(generator, [batch, 1, 16, 16]);
    }

    // Through TorchRuntime.Seeded: its lock keeps specs running beside this one off the global RNG meanwhile.
    private static ProjectedEncoder Encoder(ulong seed) => TorchRuntime.Seeded(seed << 1, () => ProjectedEncoder.SmallCnn([8, 8, 16, 16], 16));

    private static Tensor FeaturesOf(ProjectedEncoder encoder, Tensor images)
    {
        using var _ = no_grad();
        return encoder.Features(images);
    }

    [Fact]
    public void Should_give_rdm_entries_of_one_minus_the_row_correlation_of_normalised_features()
    {
        using var features = tensor(new float[] { 1, 0, 0, 0, 1, 0, 1, 1, 0 }, [3, 3]);
        var rdm = RepresentationalSimilarity.DissimilarityMatrix(features);

        Assert.Equal(0, rdm[0, 0]);
        Assert.Equal(1.5, rdm[0, 1], 10); // corr(r1, r2) = −0.5 by hand
        Assert.Equal(0.5, rdm[0, 2], 10); // corr(r1, r3) = 0.5
        Assert.Equal(0.5, rdm[1, 2], 10);
        Assert.Equal(rdm[2, 1], rdm[1, 2], 12);
        Assert.Equal([1.5, 0.5, 0.5], RepresentationalSimilarity.UpperTriangle(rdm).Select(v => Math.Round(v, 10)));
    }

    [Fact]
    public void Should_rank_ties_by_their_mean_rank()
    {
        // Ranks [1, 2.5, 2.5, 4] and [1, 3, 2, 4]: Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5.
        Assert.Equal(4.5 / Math.Sqrt(4.5 * 5), RepresentationalSimilarity.Spearman([1, 2, 2, 3], [1, 3, 2, 4]), 12);
        Assert.Equal(1, RepresentationalSimilarity.Spearman([0.1, 0.5, 0.2, 3], new[] { 0.1, 0.5, 0.2, 3 }.Select(Math.Exp).ToArray()), 12);
        Assert.Equal(-1, RepresentationalSimilarity.Spearman([1, 2, 3], [3, 2, 1]), 12);
        Assert.Equal(0, RepresentationalSimilarity.Spearman([1, 1, 1], [1, 2, 3]));
    }

    [Fact]
    public void Should_give_rho_one_for_a_model_compared_with_itself()
    {
        using var encoder = Encoder(3);
        using var images = ProbeImages(32, 5);
        using var features = FeaturesOf(encoder, images);

        Assert.Equal(1, RepresentationalSimilarity.Rho(features, features), 12);
        // A monotone rescaling of the features' norms changes nothing either: features are normalised first.
        using var scaled = features * 7.5;
        Assert.Equal(1, RepresentationalSimilarity.Rho(features, scaled), 9);
    }

    [Fact]
    public void Should_give_rho_near_zero_against_a_representation_unrelated_to_the_images()
    {
        using var encoder = Encoder(3);
        using var images = ProbeImages(64, 5);
        using var features = FeaturesOf(encoder, images);
        using var generator = new Generator(99);
        using var unrelated = TorchDraws.Randn(generator, features.shape);

        var rho = RepresentationalSimilarity.Rho(features, unrelated);

        Assert.InRange(rho, -0.1, 0.1);
    }

    [Fact]
    public void Should_give_rho_near_zero_against_an_independently_initialised_random_encoder()
    {
        using var model = Encoder(3);
        using var random = Encoder(104);
        using var images = ProbeImages(64, 4);
        using var features = FeaturesOf(model, images);
        using var randomFeatures = FeaturesOf(random, images);

        Assert.InRange(RepresentationalSimilarity.Rho(features, randomFeatures), -0.15, 0.15);
    }

    [Fact]
    public void Should_weigh_clients_by_samples_times_positive_rho_to_the_gamma()
    {
        long[] n = [10, 20, 30];
        double[] rho = [0.5, -0.2, 1.0];

        Assert.Equal([5 / 35.0, 0, 30 / 35.0], RepresentationalSimilarity.AggregationWeights(n, rho));
        Assert.Equal([2.5 / 32.5, 0, 30 / 32.5], RepresentationalSimilarity.AggregationWeights(n, rho, gamma: 2));
        // Ablation: factors 1 − ρ = [0.5, 1.2, 0].
        Assert.Equal([5 / 29.0, 24 / 29.0, 0], RepresentationalSimilarity.AggregationWeights(n, rho, mode: RsaMode.Dissimilar));
    }

    [Fact]
    public void Should_fall_back_to_sample_weights_when_no_rho_is_positive()
    {
        var weights = RepresentationalSimilarity.AggregationWeights([10, 20, 30], [-0.1, 0, -0.5]);

        Assert.Equal([10 / 60.0, 20 / 60.0, 30 / 60.0], weights);
        Assert.Equal(1, weights.Sum(), 12);
    }

    [Fact]
    public void Should_refuse_inputs_that_cannot_be_weighed()
    {
        Assert.Throws<ArgumentException>(() => RepresentationalSimilarity.AggregationWeights([10], [double.NaN]));
        Assert.Throws<ArgumentException>(() => RepresentationalSimilarity.AggregationWeights([0], [0.5]));
        Assert.Throws<ArgumentException>(() => RepresentationalSimilarity.AggregationWeights([10, 20], [0.5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => RepresentationalSimilarity.AggregationWeights([10], [0.5], gamma: -1));
        using var tooFew = zeros([2, 4]);
        Assert.Throws<ArgumentException>(() => RepresentationalSimilarity.DissimilarityMatrix(tooFew));
    }
}
