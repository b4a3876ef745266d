using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Cluster;
using FedActors.Actors.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedActors.Tests.Cluster;

/// <summary>Several FedActors nodes (ActorSystems) in this test process, on loopback ports.</summary>
public sealed class LoopbackCluster : IAsyncDisposable
{
    private readonly List<IHost> _hosts = new();

    public IReadOnlyList<IHost> Nodes => _hosts;

    /// <summary>
    /// Starts a node. A scripted crash of one of these nodes downs it (as the Split Brain Resolver
    /// would a crashed node) and so takes its ActorSystem away, never the test process.
    /// </summary>
    /// <param name="node">The node's address, roles and seeds.</param>
    /// <param name="run">The experiment every node builds alike.</param>
    /// <param name="configure">Adds to the node's wiring after the FedActors node's (e.g. discovery's cluster formation).</param>
    public async Task<IHost> StartNode(ClusterNodeSettings node, FederatedRun run, Action<AkkaConfigurationBuilder>? configure = null)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka(ClusterHostingExtensions.SystemName, akka =>
        {
            akka.ConfigureLoggers(l => l.LogLevel = Akka.Event.LogLevel.WarningLevel)
                .WithFedActorsNode(node, run, crashNode: system =>
                {
                    var self = Akka.Cluster.Cluster.Get(system);
                    self.Down(self.SelfAddress);
                });
            configure?.Invoke(akka);
        });
        var host = builder.Build();
        await host.StartAsync();
        _hosts.Add(host);
        return host;
    }

    /// <summary>
    /// Starts the cluster's first node on a port the system picks (no port chosen beforehand for another test to take),
    /// joined to itself; returns it with the seed list the other nodes join through.
    /// </summary>
    public async Task<(IHost Node, string[] Seeds)> StartSeedNode(ClusterNodeSettings node, FederatedRun run)
    {
        var host = await StartNode(node with { Port = 0, SeedNodes = [] }, run);
        var self = Akka.Cluster.Cluster.Get(System(host));
        self.Join(self.SelfAddress);
        return (host, [self.SelfAddress.ToString()]);
    }

    public static ActorSystem System(IHost host) => host.Services.GetRequiredService<ActorSystem>();

    public static ActorRegistry Registry(IHost host) => host.Services.GetRequiredService<ActorRegistry>();

    /// <summary>Waits until every node sees <paramref name="members"/> members Up; fails past <paramref name="timeout"/> (dilated).</summary>
    public Task WaitForUp(int members, TimeSpan timeout) =>
        TestTime.Until(() => Task.FromResult(_hosts.Select(h => Akka.Cluster.Cluster.Get(System(h)).State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up)).Min()),
            up => up >= members, timeout, $"every node seeing {members} members Up (the fewest any node sees is the value)", TimeSpan.FromMilliseconds(200));

    /// <summary>Waits until <paramref name="region"/> knows <paramref name="regions"/> worker regions (where shards may be placed); fails past <paramref name="timeout"/> (dilated).</summary>
    public Task WaitForRegions(IActorRef region, int regions, TimeSpan timeout) =>
        TestTime.Until(async () => (await region.Ask<Akka.Cluster.Sharding.CurrentRegions>(Akka.Cluster.Sharding.GetCurrentRegions.Instance, TimeSpan.FromSeconds(10))).Regions.Count,
            known => known >= regions, timeout, $"{regions} shard regions registering (the value is how many are)", TimeSpan.FromMilliseconds(200));

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            try { await host.StopAsync(TimeSpan.FromSeconds(10)); } catch (Exception) { /* a crashed node may not stop cleanly */ }
            host.Dispose();
        }
    }
}
