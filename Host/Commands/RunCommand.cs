using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Hosting;
using FedActors.Actors.Coordination;
using FedActors.Actors.Devices;
using FedActors.Actors.Hospitals;
using FedActors.Actors.Hosting;
using FedActors.Actors.Protocol;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using FedActors.Training;
using FedActors.Training.Experiments;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors run [experiment.conf] [--set key=value ...]</c>: one federated run, through the actors.</summary>
public static class RunCommand
{
    public sealed record Result(RunDirectory Directory, RunCompleted Completed, double TrainedProbeAccuracy, double RandomProbeAccuracy);

    public static async Task<Result> ExecuteAsync(ExperimentConfig config, TextWriter output, CancellationToken cancel = default)
    {
        var wall = Stopwatch.StartNew();
        TorchRuntime.ConfigureThreads(config.Host.TorchThreads);
        var settings = config.Experiment;
        var experiment = new FederatedMoCoExperiment(settings);
        var runDir = RunDirectory.Create(config.Host.RunsDirectory, config.ResolvedHocon, DateTime.UtcNow);
        output.WriteLine($"FedActors run: federated MoCo v2, {settings.Hospitals} hospitals, {config.Coordinator.Rounds} rounds, seed {settings.Seed}, device {settings.Device}");
        output.WriteLine($"run directory: {runDir.Path}");

        var initialGlobal = experiment.InitialGlobal();
        var hospitals = experiment.Sites.Sites
            .Select(s => new HospitalDefinition(s.HospitalId, () => s.Train, () => experiment.CreateLearner(s.HospitalId)))
            .ToList();
        var run = new FederatedRun(config.Coordinator, hospitals, initialGlobal, (weights, _) =>
        {
            var probe = experiment.Probe(weights);
            return new Dictionary<string, double>
            {
                [EvaluationKeys.ProbeAccuracy] = probe.Accuracy,
                [EvaluationKeys.ProbeBalancedAccuracy] = probe.BalancedAccuracy,
            };
        }, TrainingThreads: config.Host.TrainingThreads, Devices: config.Host.Devices);

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddAkka("fedactors", akka => akka
            .ConfigureLoggers(l => l.LogLevel = Akka.Event.LogLevel.WarningLevel)
            .WithFederatedRun(run));
        using var app = builder.Build();
        await app.StartAsync(cancel);
        try
        {
            var system = app.Services.GetRequiredService<ActorSystem>();
            var coordinator = await app.Services.GetRequiredService<ActorRegistry>().GetAsync<RoundCoordinator>(cancel);
            var finished = new TaskCompletionSource<RunCompleted>(TaskCreationOptions.RunContinuationsAsynchronously);
            var reporter = system.ActorOf(RunReporter.Props(runDir, output, config.Coordinator.Rounds, finished), "run-reporter");
            coordinator.Tell(new SubscribeToRun(reporter));
            coordinator.Tell(StartRun.Instance);
            var completed = await finished.Task.WaitAsync(cancel);

            runDir.SaveFinalWeights(completed.FinalGlobal);
            var trained = completed.Rounds[^1].Evaluation.TryGetValue(EvaluationKeys.ProbeAccuracy, out var acc)
                ? acc
                : experiment.Probe(completed.FinalGlobal).Accuracy;
            var random = experiment.Probe(initialGlobal).Accuracy;
            var perRound = completed.Rounds.Average(r => r.WallSeconds);
            var devices = await (await app.Services.GetRequiredService<ActorRegistry>().GetAsync<DeviceSlots>(cancel))
                .Ask<DeviceUtilisation>(GetDeviceUtilisation.Instance, TimeSpan.FromSeconds(10), cancel);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"linear probe ({settings.ProbeLabelFraction:P0} labels, {settings.Classes} classes, chance {1.0 / settings.Classes:F3}): trained encoder {trained:F3}, random encoder {random:F3}"));
            output.WriteLine("device use: " + string.Join(", ", devices.Devices.Select(d => string.Create(CultureInfo.InvariantCulture,
                $"{d.Device} {d.Utilisation:P0} of {d.Slots} slot(s), {d.Grants} leases"))));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"done in {wall.Elapsed.TotalSeconds:F1} s ({perRound:F1} s per round); wrote {RunDirectory.ResolvedConfigFile}, {RunDirectory.MetricsFile}, {RunDirectory.FinalWeightsFile}"));
            return new Result(runDir, completed, trained, random);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}
