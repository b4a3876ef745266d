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
}
