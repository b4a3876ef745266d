using FedActors.Tests.Actors;
using FedActors.Training.Data;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Tests.Training.Methods;

public sealed class FedEmaSpecs
{
    private static readonly ImageShard Shard = new(1, 1, new byte[16], new int[16]);

    private static ModelWeights Filled(float value) => new([new WeightTensor("w", [3, 4], Enumerable.Repeat(value, DriftLearner.Size).ToArray())]);

    [Fact]
    public void Should_take_the_global_in_the_first_round_and_then_keep_mu_of_its_own_model_with_mu_from_the_distance()
    {
        using var client = new FedEmaClient(new DriftLearner(7, "hospital-001"), lambda: 0.05);
        client.LoadGlobal(Filled(1));
        Assert.Equal(0, client.LastMu);
        Assert.Equal(Filled(1).ContentHash, client.ExportWeights().ContentHash);

        client.Train(Shard);
        var local = client.ExportWeights();
        var global = Filled(2);
        client.LoadGlobal(global);

        // μ = min(λ · ‖θ_g − θ_i‖, 1), by hand over the 12 values; then θ = μ·θ_i + (1 − μ)·θ_g.
        var distance = Math.Sqrt(local["w"].Values.Sum(v => (2.0 - v) * (2.0 - v)));
        var mu = Math.Min(0.05 * distance, 1);
        Assert.Equal(mu, client.LastMu, 12);
        Assert.True(mu is > 0 and < 1, $"μ = {mu}: pick λ so the spec exercises a real blend");
        var blended = client.ExportWeights()["w"].Values;
        for (var k = 0; k < blended.Length; k++) Assert.Equal(mu * local["w"].Values[k] + (1 - mu) * 2, blended[k], 5);
    }

    [Fact]
    public void Should_keep_its_own_model_when_the_global_is_far_enough_for_mu_to_reach_one()
    {
        using var client = new FedEmaClient(new DriftLearner(7, "hospital-001"), lambda: 1000);
        client.LoadGlobal(Filled(0));
        client.Train(Shard);
        var local = client.ExportWeights();

        client.LoadGlobal(Filled(50));

        Assert.Equal(1, client.LastMu);
        Assert.Equal(local.ContentHash, client.ExportWeights().ContentHash);
    }
}
