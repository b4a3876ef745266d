using Akka.Actor;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Testing;
using FedActors.Tests.Actors;
using FedActors.Training.Experiments;
using Xunit.Abstractions;

namespace FedActors.Tests.Persistence;

/// <summary>The round coordinator's checkpoints in PostgreSQL (a throwaway server, <see cref="PostgresServer"/>): a crashed coordinator continues from them.</summary>
[Collection(PostgresCollection.Name)]
public sealed class CoordinatorPostgresRecoverySpecs : ActorSpec
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 4, seed: 13));
    private readonly string _unusedDirectory;
    private readonly SnapshotStoreSettings _store;

    public CoordinatorPostgresRecoverySpecs(PostgresServer server, ITestOutputHelper output)
        : this(output, Directory.CreateTempSubdirectory("fedactors-unused-checkpoints-").FullName, server.NewStore("coordinator-spec"))
    {
    }

    private CoordinatorPostgresRecoverySpecs(ITestOutputHelper output, string unusedDirectory, SnapshotStoreSettings store)
        : base(2, output, CoordinatorPersistence.Hocon(unusedDirectory, store)) => (_unusedDirectory, _store) = (unusedDirectory, store);

    private static CoordinatorSettings Settings(int rounds, FaultPlan faults) => new()
    {
        Rounds = rounds, MinParticipants = 1, Seed = 13, RoundTimeout = TimeSpan.FromMinutes(2), Faults = faults,
    };

    /// <summary>A run with its own hospitals and its own checkpoint stream (<paramref name="name"/>).</summary>
    private (RunCompleted Completed, RunLog Log) RunOnce(string name, CoordinatorSettings settings)
    {
        var hospitals = TinyExperiment.UnequalHospitals(_experiment).ToDictionary(
            h => h.HospitalId, h => Sys.ActorOf(HospitalActor.Props(h, Transfer), $"{name}-{h.HospitalId}"));
        var handle = RunLog.Start(Sys, TestActor);
        var coordinator = Sys.ActorOf(RoundCoordinator.Props(settings, hospitals, _experiment.InitialGlobal(), Transfer, persistenceId: name), name);
        coordinator.Tell(new SubscribeToRun(handle.Ref));
        coordinator.Tell(StartRun.Instance, ActorRefs.NoSender);
        return (ExpectMsg<RunCompleted>(Timeout), handle);
    }

    [Fact]
    public void Should_resume_a_crashed_coordinator_from_its_postgresql_checkpoint_and_end_where_the_uninterrupted_run_ends()
    {
        var (uninterrupted, _) = RunOnce("straight", Settings(4, FaultPlan.None));
        var (recovered, log) = RunOnce("crashing", Settings(4, new FaultPlan { CoordinatorCrashes = [new ScriptedCoordinatorCrash(3)] }));

        Assert.Equal(uninterrupted.Rounds.Select(r => r.GlobalHash), recovered.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(uninterrupted.FinalGlobal.ContentHash, recovered.FinalGlobal.ContentHash);
        Assert.Equal(Enumerable.Range(1, 4), recovered.Rounds.Select(r => r.Round));
        // It continued from round 2's checkpoint, which only the database held.
        var recovery = Assert.Single(log.Of(RunEventKinds.CoordinatorRecovered));
        Assert.Equal(3, recovery.Round);
        Assert.Contains("continuing after round 2", recovery.Reason);
        var rows = PostgresServer.SnapshotsPerId(_store.ConnectionString!, _store.Table);
        Assert.Contains("crashing", rows.Keys);
        Assert.Contains("straight", rows.Keys);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_unusedDirectory));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && Directory.Exists(_unusedDirectory)) Directory.Delete(_unusedDirectory, recursive: true);
    }
}
