using Akka.Hosting;
using FedActors.Actors.Cluster;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedActors.Host.Runs;

/// <summary>A generic host running one FedActors ActorSystem, quiet except for warnings.</summary>
public static class NodeHost
{
    public static IHost Build(Action<AkkaConfigurationBuilder> configure)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka(ClusterHostingExtensions.SystemName, akka =>
        {
            akka.ConfigureLoggers(l => l.LogLevel = Akka.Event.LogLevel.WarningLevel);
            configure(akka);
        });
        return builder.Build();
    }
}
