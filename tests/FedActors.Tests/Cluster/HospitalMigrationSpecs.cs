using Akka.Actor;
using Akka.Cluster.Sharding;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Microsoft.Extensions.Hosting;

namespace FedActors.Tests.Cluster;

/// <summary>Hospitals moving between worker nodes keep their local state (three ActorSystems on loopback).</summary>
public sealed class HospitalMigrationSpecs : IDisposable
{
    private readonly string _snapshots = Directory.CreateTempSubdirectory("fedactors-migration-").FullName;
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings());

    private FederatedRun Run(int rounds, FaultPlan? faults = null) => new(
        new CoordinatorSettings
        {
            Rounds = rounds, MinParticipants = 8, RoundTimeout = TimeSpan.FromMinutes(2), ResendInterval = TimeSpan.FromSeconds(2), Seed = 7,
            Faults = faults ?? FaultPlan.None,
        },
        TinyExperiment.UnequalHospitals(_experiment),
        _experiment.InitialGlobal(),
        SnapshotDirectory: _snapshots);

    private static ClusterNodeSettings Worker(string[] seeds) =>
        new() { Roles = [NodeRoles.Worker], SeedNodes = seeds, StableAfter = TimeSpan.FromSeconds(2) };

    private static async Task<IReadOnlySet<string>> HostedHospitals(IHost node)
    {
        var state = await LoopbackCluster.Registry(node).Get<HospitalRegion>()
            .Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        return state.Shards.SelectMany(s => s.EntityIds).ToHashSet();
    }

    private static Task<LocalStateReport> StateOf(IActorRef region, string hospitalId) =>
        region.Ask<LocalStateReport>(new ShardingEnvelope(hospitalId, GetLocalState.Instance), TimeSpan.FromSeconds(30));

    private async Task<(LoopbackCluster Cluster, IHost Coordinator, IHost A, IHost B, string[] Seeds)> StartThreeNodes(FederatedRun run)
    {
        var cluster = new LoopbackCluster();
        var (coordinator, seeds) = await cluster.StartSeedNode(
            new ClusterNodeSettings { Roles = [NodeRoles.Coordinator], StableAfter = TimeSpan.FromSeconds(2) }, run);
        var a = await cluster.StartNode(Worker(seeds) with { Name = "worker-a" }, run);
        var b = await cluster.StartNode(Worker(seeds), run);
        await cluster.WaitForUp(3, TimeSpan.FromSeconds(30));
        await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 2, TimeSpan.FromSeconds(30));
        return (cluster, coordinator, a, b, seeds);
    }

    [Fact]
    public async Task Should_move_hospitals_to_a_joining_worker_with_their_state_intact()
    {
        var run = Run(rounds: 1);
        var (cluster, coordinator, _, _, seeds) = await StartThreeNodes(run);
        await using var _ = cluster;
        var region = LoopbackCluster.Registry(coordinator).Get<HospitalRegion>();
        await LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>().AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(2), "the run completing");

        var ids = _experiment.Sites.Sites.Select(s => s.HospitalId).ToList();
        var before = new Dictionary<string, LocalStateReport>();
        foreach (var id in ids)
            before[id] = await TestTime.Until(() => StateOf(region, id), r => r.SavedRound == 1, TimeSpan.FromSeconds(5), $"{id}'s round-1 snapshot being written");

        var c = await cluster.StartNode(Worker(seeds), run);
        var moved = await TestTime.Until(async () =>
        {
            foreach (var id in ids) await StateOf(region, id); // re-starts handed-off hospitals wherever they now live
            return await HostedHospitals(c);
        }, hosted => hosted.Count > 0, TimeSpan.FromSeconds(60), "the shard coordinator rebalancing hospitals onto the joining worker", TimeSpan.FromMilliseconds(500));

        foreach (var id in moved)
        {
            var after = await StateOf(region, id);
            Assert.Equal(1, after.LastRound);
            LocalStateAssert.Same(before[id].State!, after.State!);
        }
    }

    [Fact]
    public async Task Should_finish_the_run_when_a_worker_is_downed_mid_run_restoring_its_hospitals()
    {
        var run = Run(rounds: 3);
        var (cluster, coordinator, a, b, _) = await StartThreeNodes(run);
        await using var _ = cluster;
        var region = LoopbackCluster.Registry(coordinator).Get<HospitalRegion>();
        var completed = LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>().AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");

        // Once a hospital on A has finished round 1, take A down and stop it.
        var onA = await TestTime.Until(() => HostedHospitals(a), hosted => hosted.Count > 0, TimeSpan.FromSeconds(10), "a hospital starting on worker A");
        await TestTime.Until(() => StateOf(region, onA.First()), r => r.SavedRound >= 1, TimeSpan.FromMinutes(2), $"{onA.First()} on worker A saving its round-1 snapshot");
        Akka.Cluster.Cluster.Get(LoopbackCluster.System(coordinator)).Down(Akka.Cluster.Cluster.Get(LoopbackCluster.System(a)).SelfAddress);
        await a.StopAsync();

        var result = await completed; // bounded by AskWithin
        Assert.Equal(3, result.Rounds.Count);
        Assert.All(result.Rounds, r => Assert.Equal(8, r.Aggregated.Count));
        // A hospital restored from its snapshot keeps counting its optimiser steps; a fresh one would restart at 0.
        foreach (var (id, i) in _experiment.Sites.Sites.Select((s, i) => (s.HospitalId, i)))
        {
            var stepsPerRound = (16 + 4 * i) / _experiment.Settings.MoCo.BatchSize;
            Assert.Equal(3L * stepsPerRound, (await StateOf(region, id)).State!.OptimizerSteps);
        }
        Assert.Empty((await HostedHospitals(b)).Except(_experiment.Sites.Sites.Select(s => s.HospitalId)));
    }

    [Fact]
    public async Task Should_finish_the_run_when_the_fault_plan_crashes_a_worker_in_round_2()
    {
        var run = Run(rounds: 3, new FaultPlan { WorkerCrashes = [new ScriptedWorkerCrash("worker-a", 2)] });
        var (cluster, coordinator, a, b, _) = await StartThreeNodes(run);
        await using var _ = cluster;
        var events = new List<RunEvent>();
        var listener = LoopbackCluster.System(coordinator).ActorOf(Props.Create(() => new EventCollector(events)));
        var singleton = LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>();
        singleton.Tell(new SubscribeToRun(listener));

        var result = await singleton.AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");

        Assert.Equal(3, result.Rounds.Count);
        Assert.All(result.Rounds, r => Assert.Equal(8, r.Aggregated.Count));
        lock (events) Assert.Contains(events, e => e is { Kind: RunEventKinds.WorkerCrash, Round: 2 } && e.Reason == "scripted crash of worker 'worker-a'");
        await LoopbackCluster.System(a).WhenTerminated.Within(TimeSpan.FromSeconds(30), "worker-a's ActorSystem terminating after its scripted crash");
        // Hospitals that lived on A now live on B, restored from their snapshots: their optimiser steps kept counting.
        var region = LoopbackCluster.Registry(coordinator).Get<HospitalRegion>();
        foreach (var (id, i) in _experiment.Sites.Sites.Select((s, i) => (s.HospitalId, i)))
        {
            var stepsPerRound = (16 + 4 * i) / _experiment.Settings.MoCo.BatchSize;
            Assert.Equal(3L * stepsPerRound, (await StateOf(region, id)).State!.OptimizerSteps);
        }
        Assert.Equal(_experiment.Sites.Sites.Select(s => s.HospitalId).ToHashSet(), (await HostedHospitals(b)).ToHashSet());
    }

    private sealed class EventCollector : ReceiveActor
    {
        public EventCollector(List<RunEvent> events) => Receive<RunEvent>(e => { lock (events) events.Add(e); });
    }

    public void Dispose() => Directory.Delete(_snapshots, recursive: true);
}
