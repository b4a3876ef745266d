using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;

namespace FedActors.Tests.Training.Methods;

public sealed class FedByolSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Settings(hospitals: 1));
    private static string Hospital => Experiment.Sites.Sites[0].HospitalId;

    [Fact]
    public void Should_train_byol_and_continue_bit_identically_after_a_save_and_load()
    {
        var method = new FedByolMethod(Experiment);
        var shard = Experiment.Sites.Sites[0].Train;
        var global = method.InitialGlobal();
        using var a = method.CreateClient(Hospital);
        a.LoadGlobal(global);
        var round = a.Train(shard);

        Assert.InRange(round.MeanLoss, 0, 8); // two symmetric terms of 2 − 2·cos, each in [0, 4]
        Assert.NotEqual(global.ContentHash, a.ExportWeights().ContentHash);
        Assert.True(a.ExportWeights().HasSubmodule(ByolModel.Predictor));
        Assert.Equal(Experiment.InitialGlobal().Tensors.Select(t => t.Name),
            FederatedExperiment.EncoderOf(a.ExportWeights()).Tensors.Select(t => t.Name));

        using var state = new MemoryStream();
        a.SaveState(state);
        using var b = method.CreateClient(Hospital);
        b.LoadState(new MemoryStream(state.ToArray()), "spec");
        a.LoadGlobal(global);
        b.LoadGlobal(global);
        Assert.Equal(a.Train(shard).MeanLoss, b.Train(shard).MeanLoss);
        Assert.Equal(a.ExportWeights().ContentHash, b.ExportWeights().ContentHash);
    }

    [Theory]
    [InlineData(1e9, true)]  // always within the threshold: takes the global predictor
    [InlineData(0, false)]   // never within it: keeps its own
    public void Should_take_the_global_predictor_only_within_the_threshold(double threshold, bool takes)
    {
        var method = new FedUMethod(Experiment, threshold);
        var shard = Experiment.Sites.Sites[0].Train;
        var global = method.InitialGlobal();
        using var client = (FedUClient)method.CreateClient(Hospital);
        client.LoadGlobal(global);
        Assert.True(client.TookGlobalPredictor); // the first round starts from the global
        client.Train(shard);
        var own = client.ExportWeights().Submodule(ByolModel.Predictor);

        client.LoadGlobal(global);

        Assert.Equal(takes, client.TookGlobalPredictor);
        var predictor = client.ExportWeights().Submodule(ByolModel.Predictor).ContentHash;
        Assert.Equal(takes ? global.Submodule(ByolModel.Predictor).ContentHash : own.ContentHash, predictor);
        // The encoder always comes from the global.
        Assert.Equal(global.Submodule(ByolModel.Encoder).ContentHash, client.ExportWeights().Submodule(ByolModel.Encoder).ContentHash);
    }
}
