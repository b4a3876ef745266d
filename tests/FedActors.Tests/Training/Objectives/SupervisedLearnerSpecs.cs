using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;

namespace FedActors.Tests.Training.Objectives;

public sealed class SupervisedLearnerSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Settings(hospitals: 1));
    private static readonly SupervisedFedAvgMethod Method = new(Experiment, labelFraction: 0.5);

    [Fact]
    public void Should_train_the_encoder_and_classifier_on_its_labelled_fraction_alone_and_survive_a_save_and_load()
    {
        var shard = Experiment.Sites.Sites[0].Train;
        var global = Method.InitialGlobal();
        using var a = Method.CreateClient(Experiment.Sites.Sites[0].HospitalId);
        a.LoadGlobal(global);
        var round = a.Train(shard);

        // Half of each class's labels (stratified), in batches of 8 with the ragged tail dropped.
        var labelled = shard.Labels.GroupBy(l => l).Sum(g => (int)Math.Round(g.Count() * 0.5));
        Assert.Equal(labelled, round.Samples);
        Assert.Equal(labelled / Experiment.Settings.MoCo.BatchSize, round.Steps);
        Assert.True(round.MeanLoss > 0 && double.IsFinite(round.MeanLoss));
        var weights = a.ExportWeights();
        Assert.True(weights.HasSubmodule(SupervisedModel.Encoder));
        Assert.Contains(weights.Tensors, t => t.Name.StartsWith("classifier.", StringComparison.Ordinal));
        // The encoder inside is exactly what evaluation reads.
        Assert.Equal(Experiment.InitialGlobal().Tensors.Select(t => t.Name), FederatedExperiment.EncoderOf(weights).Tensors.Select(t => t.Name));

        using var state = new MemoryStream();
        a.SaveState(state);
        using var b = Method.CreateClient(Experiment.Sites.Sites[0].HospitalId);
        b.LoadState(new MemoryStream(state.ToArray()), "spec");
        a.LoadGlobal(global);
        b.LoadGlobal(global);
        Assert.Equal(a.Train(shard).MeanLoss, b.Train(shard).MeanLoss);
        Assert.Equal(a.ExportWeights().ContentHash, b.ExportWeights().ContentHash);
    }
}
