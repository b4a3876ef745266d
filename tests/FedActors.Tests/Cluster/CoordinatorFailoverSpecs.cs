using Akka.Actor;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Training.Experiments;
using Microsoft.Extensions.Hosting;

namespace FedActors.Tests.Cluster;

/// <summary>
/// The round coordinator singleton moves to the other coordinator node when its node goes down
/// mid-run, recovers the last round checkpoint and finishes the run by itself, ending where an
/// uninterrupted run ends (four ActorSystems on loopback).
/// </summary>
public sealed class CoordinatorFailoverSpecs : IDisposable
{
    private const int Rounds = 4;
    private readonly string _snapshots = Directory.CreateTempSubdirectory("fedactors-failover-").FullName;
    private readonly FederatedMoCoExperiment _experiment = new(TinyExperiment.Settings(hospitals: 6));

    private FederatedRun Run(string snapshots) => new(
        new CoordinatorSettings
        {
            Rounds = Rounds, MinParticipants = 6, RoundTimeout = TimeSpan.FromMinutes(2), ResendInterval = TimeSpan.FromSeconds(2), Seed = 11,
        },
        TinyExperiment.UnequalHospitals(_experiment),
        _experiment.InitialGlobal(),
        SnapshotDirectory: snapshots,
        CheckpointRounds: true);

    private static ClusterNodeSettings Node(string role, string[] seeds, int port = 0) =>
        new() { Port = port, Roles = [role], SeedNodes = seeds, StableAfter = TimeSpan.FromSeconds(2) };

    private static async Task<(LoopbackCluster Cluster, IHost First, IHost Second)> StartCluster(FederatedRun run)
    {
        var cluster = new LoopbackCluster();
        var seedPort = LoopbackCluster.FreePort();
        string[] seeds = [LoopbackCluster.Address(seedPort)];
        var first = await cluster.StartNode(Node(NodeRoles.Coordinator, seeds, seedPort), run);
        await cluster.StartNode(Node(NodeRoles.Worker, seeds), run);
        await cluster.StartNode(Node(NodeRoles.Worker, seeds), run);
        await cluster.WaitForUp(3, TimeSpan.FromSeconds(30));
        // Joins last, so it is the younger coordinator node: the singleton starts on the first.
        var second = await cluster.StartNode(Node(NodeRoles.Coordinator, seeds), run);
        await cluster.WaitForUp(4, TimeSpan.FromSeconds(30));
        await cluster.WaitForRegions(LoopbackCluster.Registry(first).Get<HospitalRegion>(), 2, TimeSpan.FromSeconds(30));
        return (cluster, first, second);
    }

    [Fact]
    public async Task Should_continue_the_run_on_the_other_coordinator_node_and_end_where_the_uninterrupted_run_ends()
    {
        RunCompleted uninterrupted;
        var (straightCluster, straightFirst, _) = await StartCluster(Run(Directory.CreateDirectory(Path.Combine(_snapshots, "straight")).FullName));
        await using (straightCluster)
            uninterrupted = await LoopbackCluster.Registry(straightFirst).Get<RoundCoordinator>()
                .Ask<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3));

        var (cluster, first, second) = await StartCluster(Run(Directory.CreateDirectory(Path.Combine(_snapshots, "failover")).FullName));
        await using var _ = cluster;
        var roundTwoClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var firstListener = LoopbackCluster.System(first).ActorOf(Props.Create(() => new RunListener(2, roundTwoClosed, null)));
        var firstCoordinator = LoopbackCluster.Registry(first).Get<RoundCoordinator>();
        firstCoordinator.Tell(new SubscribeToRun(firstListener));
        firstCoordinator.Tell(StartRun.Instance);
        await roundTwoClosed.Task.WaitAsync(TimeSpan.FromMinutes(2));

        // The first coordinator node crashes: the survivors down it, as the Split Brain Resolver would.
        Akka.Cluster.Cluster.Get(LoopbackCluster.System(second)).Down(Akka.Cluster.Cluster.Get(LoopbackCluster.System(first)).SelfAddress);
        await first.StopAsync();

        // Nobody sends StartRun again: the moved singleton continues by itself and tells its first subscriber what it did.
        var finished = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var events = new List<RunEvent>();
        var secondListener = LoopbackCluster.System(second).ActorOf(Props.Create(() => new RunListener(int.MaxValue, null, finished, events)));
        IActorRef? moved;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
        while ((moved = await ClusterHostingExtensions.LocalRoundCoordinator(LoopbackCluster.System(second))) is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the round coordinator did not move to the second coordinator node");
            await Task.Delay(200);
        }
        moved.Tell(new SubscribeToRun(secondListener));
        var recovered = await finished.Task.WaitAsync(TimeSpan.FromMinutes(3));

        Assert.Equal(Enumerable.Range(1, Rounds), recovered.Rounds.Select(r => r.Round));
        Assert.Equal(uninterrupted.Rounds.Select(r => r.GlobalHash), recovered.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(uninterrupted.FinalGlobal.ContentHash, recovered.FinalGlobal.ContentHash);
        Assert.All(recovered.Rounds, r => Assert.Equal(6, r.Aggregated.Count));
        RunEvent recovery;
        lock (events) recovery = Assert.Single(events, e => e.Kind == RunEventKinds.CoordinatorRecovered);
        // Round 2's checkpoint is written before round 3 begins, so the run goes on from round 3 at the latest.
        Assert.InRange(recovery.Round, 2, 3);
        Assert.Contains($"continuing after round {recovery.Round - 1}", recovery.Reason);
    }

    /// <summary>Signals when round <c>signalAfter</c> closes and when the run completes; keeps the events.</summary>
    private sealed class RunListener : ReceiveActor
    {
        public RunListener(int signalAfter, TaskCompletionSource? roundClosed, TaskCompletionSource<RunCompleted>? finished, List<RunEvent>? events = null)
        {
            Receive<RoundClosed>(c => { if (c.Summary.Round >= signalAfter) roundClosed?.TrySetResult(); });
            Receive<RunEvent>(e => { if (events is not null) lock (events) events.Add(e); });
            Receive<RunCompleted>(c => finished?.TrySetResult(c));
        }
    }

    public void Dispose() => Directory.Delete(_snapshots, recursive: true);
}
