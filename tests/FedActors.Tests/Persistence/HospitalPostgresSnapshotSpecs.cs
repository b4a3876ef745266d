using Akka.Actor;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Tests.Actors;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Persistence;

/// <summary>A hospital's snapshot in PostgreSQL (a throwaway server, <see cref="PostgresServer"/>) restores a new incarnation exactly.</summary>
[Collection(PostgresCollection.Name)]
public sealed class HospitalPostgresSnapshotSpecs : ActorSpec
{
    private static readonly TimeSpan Training = TimeSpan.FromSeconds(60);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 1));
    private readonly string _unusedDirectory;
    private readonly SnapshotStoreSettings _store;

    public HospitalPostgresSnapshotSpecs(PostgresServer server, ITestOutputHelper output)
        : this(output, Directory.CreateTempSubdirectory("fedactors-unused-snapshots-").FullName, server.NewStore("hospital-spec"))
    {
    }

    private HospitalPostgresSnapshotSpecs(ITestOutputHelper output, string unusedDirectory, SnapshotStoreSettings store)
        : base(1, output, HospitalPersistence.Hocon(unusedDirectory, store)) => (_unusedDirectory, _store) = (unusedDirectory, store);

    private HospitalDefinition Definition(string hospitalId)
    {
        var site = _experiment.Sites.Sites[0];
        return new HospitalDefinition(hospitalId, () => site.Train, () => _experiment.CreateLearner(site.HospitalId));
    }

    private LocalStateReport StateOf(IActorRef hospital)
    {
        hospital.Tell(GetLocalState.Instance);
        return ExpectMsg<LocalStateReport>();
    }

    private LocalStateReport AwaitSaved(IActorRef hospital, int round)
    {
        LocalStateReport report = null!;
        AwaitAssert(() => Assert.Equal(round, (report = StateOf(hospital)).SavedRound), Dilated(TimeSpan.FromSeconds(20)));
        return report;
    }

    private void Stop(IActorRef hospital)
    {
        Watch(hospital);
        hospital.Tell(PoisonPill.Instance);
        ExpectTerminated(hospital);
    }

    [Fact]
    public void Should_restore_a_new_incarnation_from_its_postgresql_snapshot_with_identical_state()
    {
        var global = _experiment.InitialGlobal();

        // Reference: a hospital that trains rounds 1 and 2 without stopping.
        var reference = Sys.ActorOf(HospitalActor.Props(Definition("reference"), Transfer));
        reference.Tell(Request(1, global));
        ExpectUpdate(Training);
        reference.Tell(Request(2, global));
        var uninterrupted = ExpectUpdate(Training);
        var uninterruptedState = StateOf(reference).State!;

        var first = Sys.ActorOf(HospitalActor.Props(Definition("h1"), Transfer));
        first.Tell(Request(1, global));
        var round1 = ExpectUpdate(Training);
        var beforeStop = AwaitSaved(first, 1);
        Stop(first);

        var restarted = Sys.ActorOf(HospitalActor.Props(Definition("h1"), Transfer));
        var afterRestart = StateOf(restarted);
        Assert.Equal(1, afterRestart.LastRound);
        Assert.Equal(1, afterRestart.SavedRound);
        // Every tensor of the local state (weights, momentum, optimiser) byte for byte, and its step count.
        LocalStateAssert.Same(beforeStop.State!, afterRestart.State!);
        // Asked for round 1 again, it answers with the very update it gave before (restored, not retrained).
        restarted.Tell(Request(1, global));
        Assert.Equal(round1.Weights.ContentHash, ExpectUpdate(Training).Weights.ContentHash);

        // And goes on as if it had never stopped.
        restarted.Tell(Request(2, global));
        var second = ExpectUpdate(Training);
        Assert.Equal(uninterrupted.Weights.ContentHash, second.Weights.ContentHash);
        LocalStateAssert.Same(uninterruptedState, StateOf(restarted).State!);

        // The snapshots are in the database, the latest of each hospital only, and nothing is in the directory.
        AwaitSaved(restarted, 2);
        AwaitAssert(() =>
        {
            var rows = PostgresServer.SnapshotsPerId(_store.ConnectionString!, _store.Table);
            Assert.Equal(1, rows["hospital-h1"]);
            Assert.Equal(1, rows["hospital-reference"]);
        }, Dilated(TimeSpan.FromSeconds(20)));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_unusedDirectory));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_unusedDirectory)) Directory.Delete(_unusedDirectory, recursive: true);
    }
}
