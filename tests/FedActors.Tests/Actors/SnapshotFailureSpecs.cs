using Akka.Actor;
using Akka.Persistence;
using Akka.Persistence.Snapshot;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Actors;

/// <summary>A snapshot store whose disk is full: nothing to load, every save fails.</summary>
public sealed class RefusingSnapshotStore : SnapshotStore
{
    public const string Hocon = $$"""
        {{HospitalPersistence.EnabledKey}} = on
        akka.persistence.journal.plugin = "{{HospitalPersistence.JournalPluginId}}"
        akka.persistence.snapshot-store.plugin = "spec-refusing-snapshot-store"
        spec-refusing-snapshot-store.class = "FedActors.Tests.Actors.RefusingSnapshotStore, FedActors.Tests"
        """;

    protected override Task<SelectedSnapshot> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        Task.FromResult<SelectedSnapshot>(null!);

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken) =>
        Task.FromException(new IOException("no space left on device (spec)"));

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken) => Task.CompletedTask;

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) => Task.CompletedTask;
}

public sealed class SnapshotFailureSpecs(ITestOutputHelper output) : ActorSpec(1, output, RefusingSnapshotStore.Hocon)
{
    private static readonly TimeSpan Training = TimeSpan.FromSeconds(60);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 1));

    private HospitalDefinition Definition(string id) =>
        new(id, () => _experiment.Sites.Sites[0].Train, () => _experiment.CreateLearner(_experiment.Sites.Sites[0].HospitalId));

    [Fact]
    public void Should_keep_a_passivating_hospital_whose_snapshot_failed_in_memory_and_go_on_from_there()
    {
        var global = _experiment.InitialGlobal();
        var reference = Sys.ActorOf(HospitalActor.Props(Definition("reference"), Transfer));
        reference.Tell(Request(1, global));
        ExpectUpdate(Training);
        reference.Tell(Request(2, global));
        var uninterrupted = ExpectUpdate(Training);

        var id = _experiment.Sites.Sites[0].HospitalId;
        var host = Sys.ActorOf(HospitalHost.Props([Definition(id)], Transfer));
        host.Tell(new ToHospital(id, Request(1, global)));
        ExpectUpdate(Training); // answered all the same: the run goes on

        // Its round 1 exists only in memory: stopped, it would come back as a new learner and train round 2 from scratch.
        // A query makes it consider passivating again (as an offer's answer does in a cluster).
        host.Tell(new ToHospital(id, GetLocalState.Instance));
        Assert.Equal(0, ExpectMsg<LocalStateReport>().SavedRound);
        ExpectNoMsg(TimeSpan.FromSeconds(1));
        host.Tell(HospitalHost.GetLiveHospitals.Instance);
        Assert.Contains(id, ExpectMsg<HospitalHost.LiveHospitals>().HospitalIds);
        host.Tell(new ToHospital(id, Request(2, global)));
        Assert.Equal(uninterrupted.Weights.ContentHash, ExpectUpdate(Training).Weights.ContentHash);
    }
}
