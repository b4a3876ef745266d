using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using FedActors.Actors.Cluster;
using Microsoft.Extensions.DependencyInjection;
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
        // The fedactors command handles Ctrl+C and SIGTERM itself (a run stops after a checkpoint; a second signal at once):
        // the default console lifetime would swallow every later signal and stop the host behind the command's back.
        builder.Services.AddSingleton<IHostLifetime, CommandLifetime>();
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
        var (decision, _) = await WaitForWorkersAsync(self, hospitalRegion, new WorkerQuorum(workers, workers, Timeout.InfiniteTimeSpan), cancel);
        if (decision is not (WorkerWaitDecision.Start or WorkerWaitDecision.StartWithFewer))
            throw new OperationCanceledException("The actor system terminated before the workers joined.");
    }

    /// <summary>
    /// Waits for <see cref="WorkerQuorum.Wanted"/> worker nodes (Up, hospital shard regions registered) for at most
    /// <see cref="WorkerQuorum.Timeout"/>, then decides with what joined: <see cref="WorkerWaitDecision.Start"/>,
    /// <see cref="WorkerWaitDecision.StartWithFewer"/> (at or above the floor) or <see cref="WorkerWaitDecision.GiveUp"/>.
    /// Returns <see cref="WorkerWaitDecision.Wait"/> if the node's actor system terminated first (it was asked to leave).
    /// </summary>
    /// <param name="self">The waiting node's cluster.</param>
    /// <param name="hospitalRegion">The node's hospital shard region (or its proxy).</param>
    /// <param name="quorum">How many workers, the floor, and how long (<see cref="Timeout.InfiniteTimeSpan"/>: no limit).</param>
    /// <param name="cancel">Ends the wait early (an <see cref="OperationCanceledException"/>).</param>
    /// <returns>The decision and how many workers had joined when it was made.</returns>
    public static async Task<(WorkerWaitDecision Decision, int Joined)> WaitForWorkersAsync(Akka.Cluster.Cluster self, IActorRef hospitalRegion,
        WorkerQuorum quorum, CancellationToken cancel)
    {
        var terminated = self.System.WhenTerminated;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var timedOut = quorum.Timeout != Timeout.InfiniteTimeSpan && clock.Elapsed >= quorum.Timeout;
            var joined = await JoinedWorkersAsync(self, hospitalRegion, cancel);
            var decision = quorum.Decide(joined, timedOut);
            if (decision != WorkerWaitDecision.Wait) return (decision, joined);
            await Task.WhenAny(Task.Delay(250, cancel), terminated);
            cancel.ThrowIfCancellationRequested();
            if (terminated.IsCompleted) return (WorkerWaitDecision.Wait, joined);
        }
    }

    /// <summary>Worker nodes Up whose hospital shard regions have registered: the fewer of the two counts.</summary>
    private static async Task<int> JoinedWorkersAsync(Akka.Cluster.Cluster self, IActorRef hospitalRegion, CancellationToken cancel)
    {
        var up = self.State.Members.Count(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(NodeRoles.Worker));
        if (up == 0) return 0;
        try
        {
            var regions = await hospitalRegion.Ask<CurrentRegions>(GetCurrentRegions.Instance, TimeSpan.FromSeconds(10), cancel);
            return Math.Min(up, regions.Regions.Count);
        }
        catch (AskTimeoutException)
        {
            return 0;
        }
    }

    /// <summary>
    /// Waits until a member with the coordinator role is Up in this node's cluster, for at most <paramref name="timeout"/>:
    /// a worker whose seed or coordinator never appears gives up instead of hosting nothing until its job's time limit.
    /// </summary>
    /// <param name="self">The waiting node's cluster.</param>
    /// <param name="timeout">How long to wait (<c>fedactors.cluster.coordinator-timeout</c>).</param>
    /// <param name="cancel">Ends the wait early (an <see cref="OperationCanceledException"/>).</param>
    /// <returns>Whether a coordinator node was seen (false: the timeout passed, or the actor system terminated).</returns>
    public static async Task<bool> WaitForCoordinatorAsync(Akka.Cluster.Cluster self, TimeSpan timeout, CancellationToken cancel)
    {
        var terminated = self.System.WhenTerminated;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!self.State.Members.Any(m => m.Status == Akka.Cluster.MemberStatus.Up && m.HasRole(NodeRoles.Coordinator)))
        {
            if (clock.Elapsed >= timeout || terminated.IsCompleted) return false;
            await Task.WhenAny(Task.Delay(250, cancel), terminated);
            cancel.ThrowIfCancellationRequested();
        }
        return true;
    }

    /// <summary>A host lifetime that leaves signals to the command: starts at once, stops when told.</summary>
    private sealed class CommandLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
