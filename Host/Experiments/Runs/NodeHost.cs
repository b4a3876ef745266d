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
    public const string LogLevelVariable = "FEDACTORS_LOG_LEVEL";

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
