using Akka.Actor;
using Akka.Cluster.Sharding;
using FedActors.Actors.Cluster;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Actors.Transfer;
using FedActors.Training.Experiments;

namespace FedActors.Tests.Cluster;

public class ClusterRunSpecs
{
    private static FederatedRun Run(FederatedExperiment experiment, int rounds) => new(
        new CoordinatorSettings { Rounds = rounds, MinParticipants = experiment.Settings.Hospitals, RoundTimeout = TimeSpan.FromMinutes(2), Seed = 7 },
        TinyExperiment.UnequalHospitals(experiment),
        experiment.InitialGlobal());

    private static async Task<IReadOnlySet<string>> HostedHospitals(Microsoft.Extensions.Hosting.IHost node)
    {
        var region = LoopbackCluster.Registry(node).Get<HospitalRegion>();
        var state = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, TimeSpan.FromSeconds(10));
        return state.Shards.SelectMany(s => s.EntityIds).ToHashSet();
    }

    [Fact]
    public async Task Should_run_rounds_with_hospitals_sharded_over_two_workers()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings());
        var run = Run(experiment, rounds: 2);
        await using var cluster = new LoopbackCluster();
        var (coordinator, seeds) = await cluster.StartSeedNode(new ClusterNodeSettings { Roles = [NodeRoles.Coordinator] }, run);
        var workerA = await cluster.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds }, run);
        var workerB = await cluster.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds }, run);
        await cluster.WaitForUp(3, TimeSpan.FromSeconds(30));
        await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 2, TimeSpan.FromSeconds(30));

        var singleton = LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>();
        var completed = await singleton.AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");

        Assert.Equal(2, completed.Rounds.Count);
        Assert.All(completed.Rounds, r => Assert.Equal(8, r.Aggregated.Count));
        var onA = await HostedHospitals(workerA);
        var onB = await HostedHospitals(workerB);
        Assert.NotEmpty(onA);
        Assert.NotEmpty(onB);
        Assert.Empty(onA.Intersect(onB));
        Assert.Equal(experiment.Sites.Sites.Select(s => s.HospitalId).Order(), onA.Concat(onB).Order());
    }

    [Fact]
    public async Task Should_send_weights_larger_than_a_remoting_frame_between_nodes_by_reference()
    {
        // ~1.1 MB of weights against the 1 MB frame: weights inside a message would be dropped.
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 4) with { EncoderWidths = [32, 64, 128, 128], ProjectionDim = 128 });
        var node = new ClusterNodeSettings();
        Assert.True(experiment.InitialGlobal().PayloadBytes > node.MaximumFrameBytes);
        var run = Run(experiment, rounds: 2);
        await using var cluster = new LoopbackCluster();
        var (coordinator, seeds) = await cluster.StartSeedNode(node with { Roles = [NodeRoles.Coordinator] }, run);
        var worker = await cluster.StartNode(node with { Roles = [NodeRoles.Worker], SeedNodes = seeds }, run);
        await cluster.WaitForUp(2, TimeSpan.FromSeconds(30));
        await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 1, TimeSpan.FromSeconds(30));

        var singleton = LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>();
        var completed = await singleton.AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(2), "the run completing");

        Assert.Equal(2, completed.Rounds.Count);
        Assert.All(completed.Rounds, r =>
        {
            Assert.Equal(4, r.Aggregated.Count);
            Assert.Empty(r.Rejected);
            Assert.Equal(0, r.UnexpectedReplies);
            Assert.Equal(4 * completed.FinalGlobal.PayloadBytes, r.BytesUp);
        });
        Assert.Equal(4, (await HostedHospitals(worker)).Count);
    }

    /// <summary>One coordinator and one worker, hospitals snapshotting into <paramref name="snapshots"/>; the run's final global model.</summary>
    private static async Task<(string FinalHash, IReadOnlySet<string> HostedAfter, WeightsHeld WorkerHolds)> RunOnTwoNodes(FederatedRun run, string snapshots)
    {
        await using var cluster = new LoopbackCluster();
        run = run with { SnapshotDirectory = snapshots };
        var (coordinator, seeds) = await cluster.StartSeedNode(new ClusterNodeSettings { Roles = [NodeRoles.Coordinator] }, run);
        var worker = await cluster.StartNode(new ClusterNodeSettings { Roles = [NodeRoles.Worker], SeedNodes = seeds }, run);
        await cluster.WaitForUp(2, TimeSpan.FromSeconds(30));
        await cluster.WaitForRegions(LoopbackCluster.Registry(coordinator).Get<HospitalRegion>(), 1, TimeSpan.FromSeconds(30));
        var completed = await LoopbackCluster.Registry(coordinator).Get<RoundCoordinator>().AskWithin<RunCompleted>(StartRun.Instance, TimeSpan.FromMinutes(3), "the run completing");
        Assert.All(completed.Rounds, r => Assert.Equal(run.Hospitals.Count, r.Aggregated.Count));
        // A passivated hospital asks its shard to stop it once its last answer is out and its snapshot written.
        var hosted = run.PassivateHospitals
            ? await TestTime.Until(() => HostedHospitals(worker), h => h.Count == 0, TimeSpan.FromSeconds(10), "every passivated hospital stopping after the run")
            : await HostedHospitals(worker);
        // The coordinator's releases of the last round's uploads travel to the worker after the run has completed.
        var transfer = LoopbackCluster.Registry(worker).Get<WeightsTransfer>();
        var held = await TestTime.Until(() => transfer.Ask<WeightsHeld>(GetWeightsHeld.Instance, TimeSpan.FromSeconds(10)), h => h.Offered == 0,
            TimeSpan.FromSeconds(5), "the worker's transfer releasing every upload the coordinator released");
        return (completed.FinalGlobal.ContentHash, hosted, held);
    }

    [Fact]
    public async Task Should_passivate_sharded_hospitals_between_rounds_and_end_on_the_resident_runs_model()
    {
        var experiment = new FederatedExperiment(TinyExperiment.Settings(hospitals: 4));
        var run = Run(experiment, rounds: 3);
        var snapshots = Directory.CreateTempSubdirectory("fedactors-cluster-passivation-").FullName;
        try
        {
            var resident = await RunOnTwoNodes(run, Path.Combine(snapshots, "resident"));
            var passivated = await RunOnTwoNodes(run with { PassivateHospitals = true }, Path.Combine(snapshots, "passivated"));

            Assert.Equal(4, resident.HostedAfter.Count);
            Assert.Empty(passivated.HostedAfter);
            // The coordinator released every upload at its owner once the round closed: nothing offered is left behind
            // by hospitals that are gone (only the last global, fetched for them, stays cached).
            Assert.Equal(0, passivated.WorkerHolds.Offered);
            Assert.Equal(0, resident.WorkerHolds.Offered);
            // Every round restored each hospital from its snapshot, in networks parked by another: the same model all the same.
            Assert.Equal(resident.FinalHash, passivated.FinalHash);
        }
        finally
        {
            Directory.Delete(snapshots, recursive: true);
        }
    }
}
