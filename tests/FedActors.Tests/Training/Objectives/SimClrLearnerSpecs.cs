using FedActors.Training.Augmentations;
using FedActors.Training.Experiments;
using FedActors.Training.Methods;
using FedActors.Training.Objectives;

namespace FedActors.Tests.Training.Objectives;

public sealed class SimClrLearnerSpecs
{
    private static readonly FederatedExperiment Experiment = new(TinyExperiment.Settings(hospitals: 1));

    private static ILocalLearner Learner() =>
        new FedSimClrMethod(Experiment, FedSimClrMethod.OptionsLike(Experiment.Settings.MoCo, 0.5)).CreateClient(Experiment.Sites.Sites[0].HospitalId);

    private static byte[] Save(ILocalLearner learner)
    {
        using var buffer = new MemoryStream();
        learner.SaveState(buffer);
        return buffer.ToArray();
    }

    [Fact]
    public void Should_train_and_continue_bit_identically_after_its_state_is_saved_and_loaded()
    {
        var shard = Experiment.Sites.Sites[0].Train;
        var global = Experiment.InitialGlobal();
        using var a = Learner();
        a.LoadGlobal(global);
        var first = a.Train(shard);
        Assert.True(double.IsFinite(first.MeanLoss) && first.MeanLoss > 0);
        Assert.Equal(shard.Count / Experiment.Settings.MoCo.BatchSize, first.Steps);
        Assert.NotEqual(global.ContentHash, a.ExportWeights().ContentHash);

        using var b = Learner();
        b.LoadState(new MemoryStream(Save(a)), "spec");
        a.LoadGlobal(global);
        b.LoadGlobal(global);
        Assert.Equal(a.Train(shard).MeanLoss, b.Train(shard).MeanLoss);
        Assert.Equal(a.ExportWeights().ContentHash, b.ExportWeights().ContentHash);
        LocalStateAssert.Same(a.DescribeState(), b.DescribeState());
    }

    [Fact]
    public void Should_refuse_another_learners_state_naming_the_source()
    {
        using var moco = Experiment.CreateLearner(Experiment.Sites.Sites[0].HospitalId);
        using var simclr = Learner();
        var e = Assert.Throws<InvalidDataException>(() => simclr.LoadState(new MemoryStream(Save(moco)), "hospital-01 snapshot"));
        Assert.Contains("hospital-01 snapshot", e.Message);
        Assert.Contains("'moco-v2'", e.Message);
    }
}
