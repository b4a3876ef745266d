using Akka.Actor;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Protocol;
using FedActors.Tests.Actors;
using FedActors.Training.Data;
using FedActors.Training.Objectives;
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
    private const int HeldRound = 3;
    private readonly FederatedExperiment _experiment = new(TinyExperiment.Settings(hospitals: 6));
    private readonly TaskCompletionSource _heldRoundBegun = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ManualResetEventSlim _releaseHeldRound = new();

    private FederatedRun Run(string snapshots, List<HospitalDefinition>? hospitals = null) => new(
        new CoordinatorSettings
        {
            Rounds = Rounds, MinParticipants = 6, RoundTimeout = TimeSpan.FromMinutes(2), ResendInterval = TimeSpan.FromSeconds(2), Seed = 11,
        },
        hospitals ?? TinyExperiment.UnequalHospitals(_experiment),
        _experiment.InitialGlobal(),
        SnapshotDirectory: snapshots,
        CheckpointRounds: true);

    private static ClusterNodeSettings Node(string role, string[] seeds) =>
        new() { Roles = [role], SeedNodes = seeds, StableAfter = TimeSpan.FromSeconds(2) };

    private static async Task<(LoopbackCluster Cluster, IHost First, IHost Second)> StartCluster(FederatedRun run)
    {
        var cluster = new LoopbackCluster();
        var (first, seeds) = await cluster.StartSeedNode(Node(NodeRoles.Coordinator, []), run);
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
                .AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");

        // One hospital holds its round-3 training until the first coordinator node is gone. Every hospital must answer
        // (MinParticipants = 6 of 6), so that coordinator cannot close round 3, and its last checkpoint is round 2's
        // (written before round 3 begins): the run must go on from round 3, wherever the crash would have landed otherwise.
        var hospitals = TinyExperiment.UnequalHospitals(_experiment);
        var held = hospitals[0];
        var trainings = 0;
        hospitals[0] = held with
        {
            CreateLearner = () => new HeldLearner(held.CreateLearner(), () => Interlocked.Increment(ref trainings) == HeldRound, _heldRoundBegun, _releaseHeldRound),
        };
        var (cluster, first, second) = await StartCluster(Run(Directory.CreateDirectory(Path.Combine(_snapshots, "failover")).FullName, hospitals));
        await using var _ = cluster;
        var firstCoordinator = LoopbackCluster.Registry(first).Get<RoundCoordinator>();
        firstCoordinator.Tell(StartRun.Instance);
        await _heldRoundBegun.Task.Within(TimeSpan.FromMinutes(2), $"{held.HospitalId} beginning round {HeldRound} under the first coordinator");

        // The first coordinator node crashes: the survivors down it, as the Split Brain Resolver would.
        Akka.Cluster.Cluster.Get(LoopbackCluster.System(second)).Down(Akka.Cluster.Cluster.Get(LoopbackCluster.System(first)).SelfAddress);
        await first.StopAsync();
        await LoopbackCluster.System(first).WhenTerminated.Within(TimeSpan.FromMinutes(1), "the first coordinator node's ActorSystem terminating");
        // Nothing of the first coordinator is left to checkpoint round 3: the held hospital may go on (its answer to the
        // dead coordinator is lost; the moved one's request for round 3 gets the same update again).
        _releaseHeldRound.Set();

        // Nobody sends StartRun again: the moved singleton continues by itself and tells its first subscriber what it did.
        var finished = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
        var events = new List<RunEvent>();
        var secondListener = LoopbackCluster.System(second).ActorOf(Props.Create(() => new RunListener(finished, events)));
        var moved = await TestTime.Until(() => ClusterHostingExtensions.LocalRoundCoordinator(LoopbackCluster.System(second)), c => c is not null,
            TimeSpan.FromMinutes(1), "the round coordinator moving to the second coordinator node", TimeSpan.FromMilliseconds(200));
        moved!.Tell(new SubscribeToRun(secondListener));
        var recovered = await finished.Task.Within(TimeSpan.FromMinutes(3), "the moved coordinator completing the run");

        Assert.Equal(Enumerable.Range(1, Rounds), recovered.Rounds.Select(r => r.Round));
        Assert.Equal(uninterrupted.Rounds.Select(r => r.GlobalHash), recovered.Rounds.Select(r => r.GlobalHash));
        Assert.Equal(uninterrupted.FinalGlobal.ContentHash, recovered.FinalGlobal.ContentHash);
        Assert.All(recovered.Rounds, r => Assert.Equal(6, r.Aggregated.Count));
        RunEvent recovery;
        lock (events) recovery = Assert.Single(events, e => e.Kind == RunEventKinds.CoordinatorRecovered);
        Assert.Equal(HeldRound, recovery.Round);
        Assert.Equal($"continuing after round {HeldRound - 1}", recovery.Reason);
    }

    /// <summary>Keeps the run's events and signals when it completes.</summary>
    private sealed class RunListener : ReceiveActor
    {
        public RunListener(TaskCompletionSource<RunCompleted> finished, List<RunEvent> events)
        {
            Receive<RunEvent>(e => { lock (events) events.Add(e); });
            Receive<RunCompleted>(c => finished.TrySetResult(c));
        }
    }

    /// <summary>
    /// Holds the pass <paramref name="isHeld"/> picks on its training thread until <paramref name="release"/> is set,
    /// after signalling <paramref name="begun"/>. A bounded wait: a spec that fails earlier releases it in Dispose.
    /// </summary>
    private sealed class HeldLearner(ILocalLearner inner, Func<bool> isHeld, TaskCompletionSource begun, ManualResetEventSlim release)
        : LearnerDecorator(inner)
    {
        public override LocalTrainingResult Train(ImageShard shard)
        {
            if (isHeld())
            {
                begun.TrySetResult();
                if (!release.Wait(TestTime.Dilated(TimeSpan.FromMinutes(2))))
                    throw new TimeoutException("the held training pass was never released");
            }
            return base.Train(shard);
        }
    }

    public void Dispose()
    {
        _releaseHeldRound.Set();
        _releaseHeldRound.Dispose();
        Directory.Delete(_snapshots, recursive: true);
    }
}
