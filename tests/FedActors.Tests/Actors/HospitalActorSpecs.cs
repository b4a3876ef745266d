using Akka.Actor;
using FedActors.Actors;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public class HospitalActorSpecs(ITestOutputHelper output) : ActorSpec(1, output)
{
    private readonly FederatedMoCoExperiment _experiment = new(TinyExperiment.Settings(hospitals: 1));

    [Fact]
    public void Should_keep_its_queue_optimiser_and_rng_state_between_rounds()
    {
        var site = _experiment.Sites.Sites[0];
        var hospital = Sys.ActorOf(HospitalActor.Props(
            new HospitalDefinition(site.HospitalId, () => site.Train, () => _experiment.CreateLearner(site.HospitalId))));
        var global = _experiment.InitialGlobal();

        hospital.Tell(GetLocalState.Instance);
        Assert.Null(ExpectMsg<LocalStateReport>().State);

        hospital.Tell(new TrainRound(1, global));
        var first = ExpectMsg<LocalUpdate>(TimeSpan.FromSeconds(60));
        hospital.Tell(GetLocalState.Instance);
        var afterFirst = ExpectMsg<LocalStateReport>().State!;

        // Round 2 starts again from the same global weights: only local state can make it differ.
        hospital.Tell(new TrainRound(2, global));
        var second = ExpectMsg<LocalUpdate>(TimeSpan.FromSeconds(60));
        hospital.Tell(GetLocalState.Instance);
        var afterSecond = ExpectMsg<LocalStateReport>().State!;

        var batch = _experiment.Settings.MoCo.BatchSize;
        var queue = _experiment.Settings.MoCo.QueueSize;
        Assert.Equal(first.Steps, afterFirst.OptimizerSteps);
        Assert.Equal(first.Steps + second.Steps, afterSecond.OptimizerSteps);
        Assert.Equal((long)first.Steps * batch % queue, afterFirst.QueuePointer);
        Assert.Equal((long)(first.Steps + second.Steps) * batch % queue, afterSecond.QueuePointer);
        Assert.NotEqual(afterFirst.QueueChecksum, afterSecond.QueueChecksum);
        Assert.NotEqual(afterFirst.OptimizerStateChecksum, afterSecond.OptimizerStateChecksum);
        Assert.NotEqual(afterFirst.RngState, afterSecond.RngState);
        Assert.NotEqual(first.Weights.ContentHash, second.Weights.ContentHash);

        // A hospital that had lost its state would repeat round 1 exactly.
        var fresh = Sys.ActorOf(HospitalActor.Props(
            new HospitalDefinition(site.HospitalId, () => site.Train, () => _experiment.CreateLearner(site.HospitalId))));
        fresh.Tell(new TrainRound(2, global));
        Assert.Equal(first.Weights.ContentHash, ExpectMsg<LocalUpdate>(TimeSpan.FromSeconds(60)).Weights.ContentHash);
    }
}
