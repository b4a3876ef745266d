using Akka.Actor;
using Akka.Cluster.Sharding;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Tests.Persistence;
using FedActors.Training.Experiments;
using Microsoft.Extensions.Hosting;

namespace FedActors.Tests.Cluster;

/// <summary>
/// The acceptance of state in a database: a 3-node loopback cluster whose hospitals and coordinator snapshot to
/// PostgreSQL (a throwaway server, <see cref="PostgresServer"/>), with no directory shared between the nodes, loses a
/// worker mid-run; its hospitals restore from the database on the other worker, and the run ends on the same model as
/// the same run on the shared file store.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresClusterSpecs(PostgresServer server) : IDisposable
{
    private const int Rounds = 3;
    private readonly string _root = Directory.CreateTempSubdirectory("fedactors-pg-cluster-").FullName;
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings());

    private FederatedRun Run(string snapshots, SnapshotStoreSettings store) => new(
        new CoordinatorSettings
        {
            Rounds = Rounds, MinParticipants = 8, RoundTimeout = TimeSpan.FromMinutes(2), ResendInterval = TimeSpan.FromSeconds(2), Seed = 7,
            // worker-a's process "crashes" (its node is downed) in round 2, with hospitals of its own mid-run.
            Faults = new FaultPlan { WorkerCrashes = [new ScriptedWorkerCrash("worker-a", 2)] },
        },
        TinyExperiment.UnequalHospitals(_experiment),
        _experiment.InitialGlobal(),
        SnapshotDirectory: snapshots,
        CheckpointRounds: true) { SnapshotStore = store };

    private static ClusterNodeSettings Node(string role, string[] seeds) =>
        new() { Roles = [role], SeedNodes = seeds, StableAfter = TimeSpan.FromSeconds(2) };

    private static async Task<IReadOnlySet<string>> HostedHospitals(IHost node)
    {
        var state = await LoopbackCluster.Registry(node).Get<HospitalRegion>()
            .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        return state.Shards.SelectMany(s => s.EntityIds).ToHashSet();
    }

    /// <summary>
    /// A coordinator node and workers worker-a and B, started with <paramref name="runs"/>' first, second and third run
    /// (each its own snapshot directory, where they differ); runs to the end and returns what it completed, with B.
    /// </summary>
    private async Task<(RunCompleted Completed, LoopbackCluster Cluster, IHost Coordinator, IHost B)> RunCluster(FederatedRun[] runs)
    {
        var cluster = new LoopbackCluster();
        var (coordinator, seeds) = await cluster.StartSeedNode(Node(NodeRoles.Coordinator, []), runs[0]);
        var a = await cluster.StartNode(Node(NodeRoles.Worker, seeds) with { Name = "worker-a" }, runs[1]);
        var b = await cluster.StartNode(Node(NodeRoles.Worker, seeds), runs[2]);
        await cluster.WaitForUp(3, TimeSpan.FromSeconds(30));
        await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 2, TimeSpan.FromSeconds(30));
        var completed = await LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>()
            .AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");
        await LoopbackCluster.System(a).WhenTerminated.Within(TimeSpan.FromSeconds(30), "worker-a's ActorSystem terminating after its scripted crash");
        return (completed, cluster, coordinator, b);
    }

    [Fact]
    public async Task Should_restore_a_killed_worker_s_hospitals_from_postgresql_and_end_on_the_file_store_s_model()
    {
        // The same run on the file store, in one directory every node shares.
        var shared = Directory.CreateDirectory(Path.Combine(_root, "shared")).FullName;
        var onFiles = Run(shared, SnapshotStoreSettings.File);
        var (fileRun, fileCluster, _, _) = await RunCluster([onFiles, onFiles, onFiles]);
        await fileCluster.DisposeAsync();
        Assert.NotEmpty(Directory.EnumerateFiles(shared)); // it did snapshot there

        // On PostgreSQL, each node with a directory of its own that nobody else sees.
        var store = server.NewStore("cluster-spec");
        var directories = new[] { "coordinator", "worker-a", "worker-b" }.Select(n => Directory.CreateDirectory(Path.Combine(_root, n)).FullName).ToArray();
        var (dbRun, cluster, coordinator, b) = await RunCluster(directories.Select(d => Run(d, store)).ToArray());
        await using var _ = cluster;

        Assert.Equal(Enumerable.Range(1, Rounds), dbRun.Rounds.Select(r => r.Round));
        Assert.All(dbRun.Rounds, r => Assert.Equal(8, r.Aggregated.Count));
        Assert.Equal(fileRun.Rounds.Select(r => r.GlobalHash), dbRun.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(fileRun.FinalGlobal.ContentHash, dbRun.FinalGlobal.ContentHash);

        // Every hospital now lives on B; those that lived on worker-a came back from the database: their optimiser
        // steps kept counting through the crash (a fresh hospital would have counted one or two rounds only).
        var ids = _experiment.Sites.Sites.Select(s => s.HospitalId).ToList();
        Assert.Equal(ids.ToHashSet(), (await HostedHospitals(b)).ToHashSet());
        var region = LoopbackCluster.Registry(coordinator).Get<HospitalRegion>();
        foreach (var (id, i) in ids.Select((id, i) => (id, i)))
        {
            var stepsPerRound = (16 + 4 * i) / _experiment.Settings.MoCo.BatchSize;
            var state = await region.Ask<LocalStateReport>(new ShardingEnvelope(id, GetLocalState.Instance), TimeSpan.FromSeconds(30));
            Assert.Equal(3L * stepsPerRound, state.State!.OptimizerSteps);
        }

        // The state is in the run's table (the latest snapshot of every hospital and the coordinator's), none on disk.
        var rows = PostgresServer.SnapshotsPerId(store.ConnectionString!, store.Table);
        Assert.Equal(ids.Select(id => $"hospital-{id}").Append(RoundCoordinator.DefaultPersistenceId).ToHashSet(), rows.Keys.ToHashSet());
        Assert.All(directories, d => Assert.Empty(Directory.EnumerateFileSystemEntries(d)));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
