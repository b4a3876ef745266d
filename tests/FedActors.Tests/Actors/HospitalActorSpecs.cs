using Akka.Actor;
using FedActors.Actors;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public class HospitalActorSpecs(ITestOutputHelper output) : ActorSpec(1, output)
{
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 1));

    [Fact]
    public void Should_keep_its_queue_optimiser_and_rng_state_between_rounds()
    {
        var site = _experiment.Sites.Sites[0];
        var hospital = Sys.ActorOf(HospitalActor.Props(
            new HospitalDefinition(site.HospitalId, () => site.Train, () => _experiment.CreateLearner(site.HospitalId)), Transfer));
        var global = _experiment.InitialGlobal();

        hospital.Tell(GetLocalState.Instance);
        Assert.Null(ExpectMsg<LocalStateReport>().State);

        hospital.Tell(Request(1, global));
        var first = ExpectUpdate(Dilated(TimeSpan.FromSeconds(60)));
        hospital.Tell(GetLocalState.Instance);
        var afterFirst = ExpectMsg<LocalStateReport>().State!;

        // Round 2 starts again from the same global weights: only local state can make it differ.
        hospital.Tell(Request(2, global));
        var second = ExpectUpdate(Dilated(TimeSpan.FromSeconds(60)));
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
            new HospitalDefinition(site.HospitalId, () => site.Train, () => _experiment.CreateLearner(site.HospitalId)), Transfer));
        fresh.Tell(Request(2, global));
        Assert.Equal(first.Weights.ContentHash, ExpectUpdate(Dilated(TimeSpan.FromSeconds(60))).Weights.ContentHash);
    }

    /// <summary>A learner whose training throws while <c>fail</c> says so, as a transient native failure would.</summary>
    private sealed class FailingLearner(FedActors.Training.Objectives.ILocalLearner inner, Func<bool> fail) : LearnerDecorator(inner)
    {
        public override FedActors.Training.Objectives.LocalTrainingResult Train(FedActors.Training.Data.ImageShard shard) =>
            fail() ? throw new System.Runtime.InteropServices.ExternalException("Expected false to be true, but got false.") : base.Train(shard);
    }

    private IActorRef Hospital(Func<bool> fail)
    {
        var site = _experiment.Sites.Sites[0];
        return Sys.ActorOf(HospitalActor.Props(new HospitalDefinition(site.HospitalId, () => site.Train,
            () => new FailingLearner(_experiment.CreateLearner(site.HospitalId), fail)), Transfer));
    }

    [Fact]
    public void Should_train_a_round_again_at_once_when_its_training_throws()
    {
        var global = _experiment.InitialGlobal();
        var reference = Hospital(() => false);
        reference.Tell(Request(1, global));
        var expected = ExpectUpdate(Dilated(TimeSpan.FromSeconds(60)));
        var attempts = 0;
        var hospital = Hospital(() => Interlocked.Increment(ref attempts) == 1);

        hospital.Tell(Request(1, global));

        // No coordinator resends here: the answer comes from the hospital's own retry, from a clean learner.
        var answer = ExpectUpdate(Dilated(TimeSpan.FromSeconds(60)));
        Assert.Equal(2, attempts);
        Assert.Equal(expected.Weights.ContentHash, answer.Weights.ContentHash);
        Assert.Equal(expected.Steps, answer.Steps);
    }

    [Fact]
    public void Should_report_a_round_whose_training_keeps_failing_to_the_coordinator()
    {
        var attempts = 0;
        var hospital = Hospital(() => { Interlocked.Increment(ref attempts); return true; });

        hospital.Tell(Request(1, _experiment.InitialGlobal()));

        var failed = ExpectMsg<HospitalTrainingFailed>(Dilated(TimeSpan.FromSeconds(60)));
        Assert.Equal(3, attempts); // the first try and two immediate retries
        Assert.Equal((1, _experiment.Sites.Sites[0].HospitalId), (failed.Round, failed.HospitalId));
        Assert.Equal("its training failed 3 times: Expected false to be true, but got false.", failed.Reason);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // and no update after it
    }
}
