using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Cluster;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FedActors.Testing;

/// <summary>
/// A run on an Akka.NET cluster inside this process: a coordinator node and <c>workers</c> worker nodes named
/// <c>worker-1</c>, <c>worker-2</c>, …, each its own ActorSystem on a loopback port the system picks, wired exactly as
/// <c>fedactors node</c> wires them (hospitals as shard entities on the workers, the round coordinator a singleton,
/// weights fetched between nodes over TCP). A scripted crash of a worker downs it, as the Split Brain Resolver downs a
/// node that died: its ActorSystem stops, and its hospitals restart on a survivor from their snapshots.
/// </summary>
internal static class LoopbackRun
{
    /// <summary>How long a downed node's absence must be stable before the Split Brain Resolver acts: short, on loopback.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(2);

    public static async Task<RunResult> ExecuteAsync(ExperimentConfig config, int workers, TextWriter output, CancellationToken cancel)
    {
        var runDir = RunDirectory.Create(config.Host.RunsDirectory, config.ResolvedHocon, DateTime.UtcNow);
        var prepared = PreparedRun.Prepare(config, runDir.SnapshotsPath, checkpointRounds: true);
        var nodes = new List<IHost>();
        try
        {
            var coordinatorNode = await Start(nodes, new ClusterNodeSettings { Port = 0, Roles = [NodeRoles.Coordinator], StableAfter = StableAfter }, prepared, cancel);
            var system = coordinatorNode.Services.GetRequiredService<ActorSystem>();
            var self = Akka.Cluster.Cluster.Get(system);
            // Port 0: the address is known once remoting is bound. The coordinator node is the seed and joins itself.
            self.Join(self.SelfAddress);
            for (var i = 1; i <= workers; i++)
                await Start(nodes, new ClusterNodeSettings
                {
                    Port = 0, Roles = [NodeRoles.Worker], Name = $"worker-{i}", SeedNodes = [self.SelfAddress.ToString()], StableAfter = StableAfter,
                }, prepared, cancel);
            await NodeHost.WaitForWorkersAsync(self, coordinatorNode.Services.GetRequiredService<ActorRegistry>().Get<HospitalRegion>(), workers, cancel);
            IActorRef? coordinator;
            while ((coordinator = await ClusterHostingExtensions.LocalRoundCoordinator(system, cancel)) is null) await Task.Delay(100, cancel);
            return await prepared.DriveAsync(runDir, system, coordinator, output, cancel);
        }
        finally
        {
            foreach (var node in Enumerable.Reverse(nodes))
            {
                try { await node.StopAsync(TimeSpan.FromSeconds(10)); }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { /* a crashed node may not stop cleanly */ }
                node.Dispose();
            }
        }
    }

    private static async Task<IHost> Start(List<IHost> nodes, ClusterNodeSettings settings, PreparedRun prepared, CancellationToken cancel)
    {
        var node = NodeHost.Build(akka => akka.WithFedActorsNode(settings, prepared.Run, crashNode: system =>
        {
            var cluster = Akka.Cluster.Cluster.Get(system);
            cluster.Down(cluster.SelfAddress);
        }));
        nodes.Add(node);
        await node.StartAsync(cancel);
        return node;
    }
}
