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
        using var client = new FedEmaClient(new DriftLearner(7, "hospital-001"), new FedEmaOptions(Lambda: 0.05));
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
        using var client = new FedEmaClient(new DriftLearner(7, "hospital-001"), new FedEmaOptions(Lambda: 1000));
        client.LoadGlobal(Filled(0));
        client.Train(Shard);
        var local = client.ExportWeights();

        client.LoadGlobal(Filled(50));

        Assert.Equal(1, client.LastMu);
        Assert.Equal(local.ContentHash, client.ExportWeights().ContentHash);
    }

    [Fact]
    public void Should_scale_lambda_so_the_first_mu_is_tau_and_keep_that_lambda_afterwards()
    {
        using var client = new FedEmaClient(new DriftLearner(7, "hospital-001"), new FedEmaOptions(Tau: 0.6));
        client.LoadGlobal(Filled(0));
        Assert.Null(client.Lambda);
        client.Train(Shard);
        var first = client.ExportWeights().DistanceTo(Filled(1));

        client.LoadGlobal(Filled(1));

        Assert.Equal(0.6, client.LastMu, 12);
        Assert.Equal(0.6 / first, client.Lambda!.Value, 12);
        client.Train(Shard);
        var second = client.ExportWeights().DistanceTo(Filled(-1));
        client.LoadGlobal(Filled(-1));
        Assert.Equal(Math.Min(0.6 / first * second, 1), client.LastMu, 12);
    }

    [Fact]
    public void Should_measure_the_divergence_on_the_named_part_only_and_blend_every_tensor()
    {
        ModelWeights Two(float encoder, float head, float batches = 0) => new([
            new WeightTensor("network.w", [2], [encoder, encoder]), new WeightTensor("network.bn.num_batches_tracked", [], [batches]),
            new WeightTensor("predictor.w", [2], [head, head])]);
        using var client = new FedEmaClient(new WeightsLearner(Two(0, 0)), new FedEmaOptions(Lambda: 0.1), "network");
        client.Train(Shard);

        // The encoder is 3·√2 from the global; neither the predictor's 100·√2 nor the batch counter counts.
        client.LoadGlobal(Two(3, 100, batches: 40));

        var mu = 0.1 * 3 * Math.Sqrt(2);
        Assert.Equal(mu, client.LastMu, 12);
        Assert.Equal((float)((1 - mu) * 3), client.ExportWeights()["network.w"].Values[0], 5);
        Assert.Equal((float)((1 - mu) * 100), client.ExportWeights()["predictor.w"].Values[0], 4);
        Assert.Equal((float)((1 - mu) * 40), client.ExportWeights()["network.bn.num_batches_tracked"].Values[0], 4);
    }

    [Fact]
    public void Should_restore_its_auto_scaled_lambda_with_the_learner_state()
    {
        using var client = new FedEmaClient(new DriftLearner(7, "hospital-001"), new FedEmaOptions());
        client.LoadGlobal(Filled(0));
        client.Train(Shard);
        client.LoadGlobal(Filled(1));
        using var saved = new MemoryStream();
        client.SaveState(saved);

        using var restored = new FedEmaClient(new DriftLearner(7, "hospital-001"), new FedEmaOptions());
        restored.LoadState(new MemoryStream(saved.ToArray()), "snapshot of hospital-001");

        Assert.Equal(client.Lambda, restored.Lambda);
        Assert.Equal(client.ExportWeights().ContentHash, restored.ExportWeights().ContentHash);
        var other = Assert.Throws<InvalidDataException>(() => restored.LoadState(new MemoryStream(saved.ToArray()[..^40]), "snapshot of hospital-001"));
        Assert.Contains("snapshot of hospital-001", other.Message);
    }

    /// <summary>A learner holding fixed weights whose training step counts but changes nothing.</summary>
    private sealed class WeightsLearner(ModelWeights weights) : FedActors.Training.Objectives.ILocalLearner
    {
        private long _steps;
        public void LoadGlobal(ModelWeights global) => weights = global;
        public FedActors.Training.Objectives.LocalTrainingResult Train(ImageShard shard) { _steps++; return new(0, 1, shard.Count); }
        public ModelWeights ExportWeights() => weights;
        public FedActors.Training.Objectives.LocalStateSummary DescribeState() => new(_steps, 0, "", "", [0, 0, 0, 0]);
        public void SaveState(Stream stream) => throw new NotSupportedException();
        public void LoadState(Stream stream, string source) => throw new NotSupportedException();
        public void MoveTo(TorchSharp.torch.Device device) { }
        public void Dispose() { }
    }
}
