using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Coordination;
using FedActors.Actors.Hosting;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors run [experiment.conf] [--set key=value ...]</c>: one federated run in this process, through the actors.</summary>
public static class RunCommand
{
    public static async Task<RunResult> ExecuteAsync(ExperimentConfig config, TextWriter output, CancellationToken cancel = default)
    {
        var runDir = RunDirectory.Create(config.Host.RunsDirectory, config.ResolvedHocon, DateTime.UtcNow);
        var prepared = PreparedRun.Prepare(config, runDir.SnapshotsPath);
        using var app = NodeHost.Build(akka => akka.WithFederatedRun(prepared.Run));
        await app.StartAsync(cancel);
        try
        {
            var coordinator = await app.Services.GetRequiredService<ActorRegistry>().GetAsync<RoundCoordinator>(cancel);
            return await prepared.DriveAsync(runDir, app.Services.GetRequiredService<ActorSystem>(), coordinator, output, cancel);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
