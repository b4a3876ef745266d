using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;

namespace FedActors.Tests.Training.Methods;

public sealed class FedProxSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Settings(hospitals: 1));

    private static (string Hash, double Distance) OneRound(double mu)
    {
        var site = Experiment.Sites.Sites[0];
        var global = Experiment.InitialGlobal();
        using var learner = new FedProxMethod(Experiment, mu).CreateClient(site.HospitalId);
        learner.LoadGlobal(global);
        learner.Train(site.Train);
        var trained = learner.ExportWeights();
        return (trained.ContentHash, trained.DistanceTo(global));
    }

    [Fact]
    public void Should_train_exactly_like_plain_moco_with_mu_zero()
    {
        using var plain = Experiment.CreateLearner(Experiment.Sites.Sites[0].HospitalId);
        plain.LoadGlobal(Experiment.InitialGlobal());
        plain.Train(Experiment.Sites.Sites[0].Train);

        Assert.Equal(plain.ExportWeights().ContentHash, OneRound(0).Hash);
    }

    [Fact]
    public void Should_stay_closer_to_the_global_the_larger_mu_is()
    {
        // Learning rate × μ stays below 2 (0.05 × 10): beyond it the proximal step itself diverges.
        var free = OneRound(0).Distance;
        var pulled = OneRound(1).Distance;
        var held = OneRound(10).Distance;

        Assert.True(pulled < free, $"μ = 1 moved {pulled}, μ = 0 moved {free}");
        Assert.True(held < pulled, $"μ = 10 moved {held}, μ = 1 moved {pulled}");
    }
}
