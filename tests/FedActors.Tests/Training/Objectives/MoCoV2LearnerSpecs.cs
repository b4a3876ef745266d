using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using static TorchSharp.torch;

namespace FedActors.Tests.Training.Objectives;

public class MoCoV2LearnerSpecs
{
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 1));

    private MoCoV2Learner Learner() => (MoCoV2Learner)_experiment.CreateLearner(_experiment.Sites.Sites[0].HospitalId);

    /// <summary>
    /// A forced move on the CPU re-homes modules, rebuilds the optimiser and moves the queue as a
    /// GPU move does; training must then go on exactly as if nothing had moved (momentum kept).
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Should_keep_training_exactly_as_before_after_moving_to_a_device(bool force)
    {
        var shard = _experiment.Sites.Sites[0].Train;
        var global = _experiment.InitialGlobal();
        using var stayed = Learner();
        using var moved = Learner();
        foreach (var learner in new[] { stayed, moved })
        {
            learner.LoadGlobal(global);
            learner.Train(shard); // builds momentum buffers and fills the queue
        }

        moved.MoveTo(CPU, force);
        var before = moved.DescribeState();
        Assert.Equal(stayed.DescribeState().QueueChecksum, before.QueueChecksum);
        Assert.Equal(stayed.DescribeState().OptimizerStateChecksum, before.OptimizerStateChecksum);

        stayed.Train(shard);
        moved.Train(shard);
        Assert.Equal(stayed.ExportWeights().ContentHash, moved.ExportWeights().ContentHash);
        Assert.Equal(stayed.DescribeState().OptimizerStateChecksum, moved.DescribeState().OptimizerStateChecksum);
    }
}
