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

/// <summary>
/// <c>fedactors run [experiment.conf] [--set key=value ...]</c>: one federated run in this process,
/// through the actors; <c>fedactors run --resume RUN_DIR</c> continues an interrupted one.
/// </summary>
public static class RunCommand
{
    /// <summary>
    /// Runs <paramref name="config"/> in this process in a new timestamped run directory under the configured
    /// runs directory, and returns once the last round is closed and its results are written.
    /// </summary>
    /// <param name="config">The experiment; it must suit a single process (<see cref="ExperimentConfig.CheckSingleProcess"/>).</param>
    /// <param name="output">Where the per-round progress lines are written.</param>
    /// <param name="cancel">Stops the run after its last completed round's checkpoint.</param>
    /// <returns>The run directory and the run's final figures.</returns>
    /// <exception cref="RunInterrupted"><paramref name="cancel"/> was cancelled; the run can be continued with <see cref="ResumeAsync"/>.</exception>
    public static async Task<RunResult> ExecuteAsync(ExperimentConfig config, TextWriter output, CancellationToken cancel = default)
    {
        config.CheckSingleProcess();
        var runDir = RunDirectory.Create(config.Host.RunsDirectory, config.ResolvedHocon, DateTime.UtcNow);
        return await RunInAsync(runDir, config, resumed: false, output, cancel);
    }

    /// <summary>
    /// Continues the run in <paramref name="runDirectory"/> with its own <c>resolved.conf</c>, its
    /// hospitals' snapshots and its coordinator's checkpoints: the coordinator goes on after its
    /// last completed round.
    /// </summary>
    /// <param name="runDirectory">The interrupted run's directory (as printed by <see cref="RunInterrupted"/>).</param>
    /// <param name="output">Where the per-round progress lines are written.</param>
    /// <param name="cancel">Stops the run again after its last completed round's checkpoint.</param>
    /// <param name="methods">The methods the run's config may name, as given to <see cref="ExperimentConfig.Load"/> when it began (default: <see cref="FedActors.Training.Methods.MethodRegistry.Default"/>).</param>
    public static async Task<RunResult> ResumeAsync(string runDirectory, TextWriter output, CancellationToken cancel = default,
        FedActors.Training.Methods.MethodRegistry? methods = null)
    {
        var runDir = RunDirectory.Open(runDirectory);
        var config = ExperimentConfig.Load(runDir.ResolvedConfigPath, [], methods);
        config.CheckSingleProcess();
        return await RunInAsync(runDir, config, resumed: true, output, cancel);
    }

    private static async Task<RunResult> RunInAsync(RunDirectory runDir, ExperimentConfig config, bool resumed, TextWriter output, CancellationToken cancel)
    {
        var prepared = PreparedRun.Prepare(config, runDir.SnapshotsPath, checkpointRounds: true);
        using var app = NodeHost.Build(akka => akka.WithFederatedRun(prepared.Run));
        await app.StartAsync(cancel);
        try
        {
            var coordinator = await app.Services.GetRequiredService<ActorRegistry>().GetAsync<RoundCoordinator>(cancel);
            return await prepared.DriveAsync(runDir, app.Services.GetRequiredService<ActorSystem>(), coordinator, output, cancel, resumed);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // Every completed round is checkpointed before the next begins: nothing of them is lost.
            throw new RunInterrupted(runDir.Path, runDir.CompletedRounds());
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }
}

/// <summary>The run was stopped (Ctrl+C, SIGTERM) after <paramref name="completedRounds"/> rounds; <c>--resume</c> continues it.</summary>
/// <param name="runDirectory">The interrupted run's directory.</param>
/// <param name="completedRounds">Rounds completed and checkpointed before it stopped.</param>
public sealed class RunInterrupted(string runDirectory, int completedRounds)
    : Exception($"interrupted after round {completedRounds}; continue with: fedactors run --resume {runDirectory}")
{
    /// <summary>The interrupted run's directory, to pass to <c>fedactors run --resume</c>.</summary>
    public string RunDirectory { get; } = runDirectory;

    /// <summary>How many rounds were completed and checkpointed before the run stopped.</summary>
    public int CompletedRounds { get; } = completedRounds;
}
