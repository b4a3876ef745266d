using Akka.Actor;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Data;
using FedActors.Training.Experiments;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

public sealed class HospitalHostSpecs : ActorSpec
{
    private static readonly TimeSpan Training = TimeSpan.FromSeconds(60);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 3));
    private readonly string _snapshots;
    private int _liveLearners;

    public HospitalHostSpecs(ITestOutputHelper output) : this(output, Directory.CreateTempSubdirectory("fedactors-passivation-").FullName)
    {
    }

    private HospitalHostSpecs(ITestOutputHelper output, string snapshots)
        : base(1, output, HospitalPersistence.Hocon(snapshots)) => _snapshots = snapshots;

    private HospitalDefinition Definition(int site, bool counted) => new(_experiment.Sites.Sites[site].HospitalId, () => _experiment.Sites.Sites[site].Train, () =>
    {
        var learner = _experiment.CreateLearner(_experiment.Sites.Sites[site].HospitalId);
        if (!counted) return learner;
        Interlocked.Increment(ref _liveLearners);
        return new CountingLearner(learner, () => Interlocked.Decrement(ref _liveLearners));
    });

    private IReadOnlyList<string> Live(IActorRef host)
    {
        host.Tell(HospitalHost.GetLiveHospitals.Instance);
        return ExpectMsg<HospitalHost.LiveHospitals>().HospitalIds;
    }

    [Fact]
    public void Should_keep_only_working_hospitals_in_memory_and_continue_each_as_if_never_stopped()
    {
        var global = _experiment.InitialGlobal();
        var ids = _experiment.Sites.Sites.Select(s => s.HospitalId).ToList();
        var host = Sys.ActorOf(HospitalHost.Props([.. Enumerable.Range(0, 3).Select(i => Definition(i, counted: true))], Transfer));
        // Reference: hospital 1 training rounds 1 and 2 without ever stopping.
        var reference = Sys.ActorOf(HospitalActor.Props(Definition(0, counted: false) with { HospitalId = "reference" }, Transfer));
        reference.Tell(Request(1, global));
        ExpectUpdate(Training);
        reference.Tell(Request(2, global));
        var uninterrupted = ExpectUpdate(Training);
        reference.Tell(GetLocalState.Instance);
        var uninterruptedState = ExpectMsg<LocalStateReport>().State!;

        // Nothing is in memory before a hospital is asked for anything.
        Assert.Empty(Live(host));
        Assert.Equal(0, _liveLearners);
        host.Tell(new ToHospital(ids[0], Request(1, global)));
        ExpectUpdate(Training);

        // Answered and snapshotted, it passivates: no hospital actor and no learner (no tensors) remain.
        AwaitAssert(() => Assert.Empty(Live(host)), Dilated(TimeSpan.FromSeconds(10)));
        AwaitAssert(() => Assert.Equal(0, _liveLearners), Dilated(TimeSpan.FromSeconds(10)));

        // Selected again, it restores from its snapshot and trains round 2 exactly as the one that never stopped.
        host.Tell(new ToHospital(ids[0], Request(2, global)));
        var second = ExpectUpdate(Training);
        Assert.Equal(uninterrupted.Weights.ContentHash, second.Weights.ContentHash);
        Assert.Equal(uninterrupted.MeanLoss, second.MeanLoss);
        host.Tell(new ToHospital(ids[0], GetLocalState.Instance));
        LocalStateAssert.Same(uninterruptedState, ExpectMsg<LocalStateReport>().State!);
        // The other two hospitals never worked, so they never took memory.
        Assert.DoesNotContain(ids[1], Live(host));
        Assert.DoesNotContain(ids[2], Live(host));
    }

    [Fact]
    public void Should_answer_a_resent_request_of_a_passivated_hospital_without_training_again()
    {
        var global = _experiment.InitialGlobal();
        var id = _experiment.Sites.Sites[1].HospitalId;
        var host = Sys.ActorOf(HospitalHost.Props([Definition(1, counted: true)], Transfer));
        host.Tell(new ToHospital(id, Request(1, global)));
        var first = ExpectUpdate(Training);
        AwaitAssert(() => Assert.Empty(Live(host)), Dilated(TimeSpan.FromSeconds(10)));

        host.Tell(new ToHospital(id, Request(1, global)));

        var again = ExpectUpdate(Training);
        Assert.Equal(first.Weights.ContentHash, again.Weights.ContentHash);
        Assert.Equal(first.Steps, again.Steps);
        // Having only answered again, it goes back to its snapshot.
        AwaitAssert(() => Assert.Empty(Live(host)), Dilated(TimeSpan.FromSeconds(10)));
        AwaitAssert(() => Assert.Equal(0, _liveLearners), Dilated(TimeSpan.FromSeconds(10)));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_snapshots)) Directory.Delete(_snapshots, recursive: true);
    }
}

/// <summary>A learner that reports its disposal, so a spec can count the learners (and so the tensors) alive.</summary>
internal sealed class CountingLearner(ILocalLearner inner, Action disposed) : LearnerDecorator(inner)
{
    public override void Dispose()
    {
        base.Dispose();
        disposed();
    }
}
