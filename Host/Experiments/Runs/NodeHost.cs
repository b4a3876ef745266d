using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using FedActors.Actors.Cluster;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedActors.Host.Runs;

/// <summary>
/// A generic host running one FedActors ActorSystem, quiet except for warnings; the environment
/// variable <c>FEDACTORS_LOG_LEVEL</c> (debug, info, warning, error) says more, to debug a cluster.
/// </summary>
public static class NodeHost
{
    /// <summary>The environment variable that sets Akka's log level: <c>debug</c>, <c>info</c>, <c>warning</c> (the default) or <c>error</c>.</summary>
    public const string LogLevelVariable = "FEDACTORS_LOG_LEVEL";

    /// <summary>Builds (does not start) a host with one ActorSystem named <see cref="ClusterHostingExtensions.SystemName"/>.</summary>
    /// <param name="configure">Adds the node's actors, e.g. <c>WithFederatedRun</c> or <c>WithFedActorsNode</c>.</param>
    /// <returns>The host; the caller starts, stops and disposes it.</returns>
    /// <exception cref="Configuration.ConfigError"><see cref="LogLevelVariable"/> holds another value.</exception>
    public static IHost Build(Action<AkkaConfigurationBuilder> configure)
    {
        var level = Environment.GetEnvironmentVariable(LogLevelVariable)?.Trim().ToLowerInvariant() switch
        {
            null or "" or "warning" => Akka.Event.LogLevel.WarningLevel,
            "debug" => Akka.Event.LogLevel.DebugLevel,
            "info" => Akka.Event.LogLevel.InfoLevel,
            "error" => Akka.Event.LogLevel.ErrorLevel,
            var other => throw new Configuration.ConfigError($"{LogLevelVariable}={other}: must be debug, info, warning or error."),
        };
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka(ClusterHostingExtensions.SystemName, akka =>
        {
            akka.ConfigureLoggers(l => l.LogLevel = level);
            configure(akka);
        });
        return builder.Build();
    }

    /// <summary>
    /// Waits until <paramref name="workers"/> worker nodes are Up and their hospital shard regions registered with
    /// <paramref name="hospitalRegion"/>: shards are placed on the regions known when a hospital is first addressed, so
    /// starting the run earlier would pile every hospital onto the first worker.
    /// </summary>
    /// <param name="self">The waiting node's cluster.</param>
    /// <param name="hospitalRegion">The node's hospital shard region (or its proxy).</param>
    /// <param name="workers">How many workers to wait for.</param>
    /// <param name="cancel">Ends the wait (an <see cref="OperationCanceledException"/>); the only bound on it.</param>
    public static async Task WaitForWorkersAsync(Akka.Cluster.Cluster self, IActorRef hospitalRegion, int workers, CancellationToken cancel)
    {
        while (true)
        {
            var up = self.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(NodeRoles.Worker));
            if (up >= workers)
            {
                var regions = await hospitalRegion.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(10), cancel);
                if (regions.Regions.Count >= workers) return;
            }
            await Task.Delay(250, cancel);
        }
    }
}
