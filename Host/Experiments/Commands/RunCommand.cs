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
    /// <param name="files">How the run directory's files are written (default <see cref="RunFiles.Default"/>; a test's may run out of space).</param>
    /// <exception cref="RunInterrupted"><paramref name="cancel"/> was cancelled; the run can be continued with <see cref="ResumeAsync"/>.</exception>
    /// <remarks>
    /// A run that fails or is stopped before its first round is on file leaves no directory; one that fails later keeps
    /// it, marked with <see cref="RunFailure.FileName"/> (<see cref="RunFailure.Record"/>).
    /// </remarks>
    public static async Task<RunResult> ExecuteAsync(ExperimentConfig config, TextWriter output, CancellationToken cancel = default, RunFiles? files = null)
    {
        config.CheckSingleProcess();
        var runDir = RunDirectory.Create(config.Host.RunsDirectory, config.ResolvedHocon, DateTime.UtcNow, files);
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
    /// <param name="files">How the run directory's files are written (default <see cref="RunFiles.Default"/>).</param>
    public static async Task<RunResult> ResumeAsync(string runDirectory, TextWriter output, CancellationToken cancel = default,
        FedActors.Training.Methods.MethodRegistry? methods = null, RunFiles? files = null)
    {
        // A torn last line (a write cut short by a full disk or a kill) is dropped with a warning, not an error.
        var runDir = RunDirectory.Open(runDirectory, output, files);
        var config = ExperimentConfig.Load(runDir.ResolvedConfigPath, [], methods);
        config.CheckSingleProcess();
        RunFailure.Clear(runDir);
        return await RunInAsync(runDir, config, resumed: true, output, cancel);
    }

    private static async Task<RunResult> RunInAsync(RunDirectory runDir, ExperimentConfig config, bool resumed, TextWriter output, CancellationToken cancel)
    {
        PreparedRun prepared;
        try
        {
            output.WriteLine($"setting up: data and models of {config.Experiment.Hospitals} hospitals (Ctrl+C or SIGTERM stops)");
            output.Flush();
            // Setup (data, models) cannot look at the token, so it runs aside: a signal ends the wait at once, and the
            // process exits without waiting for it.
            prepared = await Task.Run(() => PreparedRun.Prepare(config, runDir.SnapshotsPath, checkpointRounds: true), CancellationToken.None).WaitAsync(cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            throw Interrupted(runDir, resumed);
        }
        catch (Exception e)
        {
            RunFailure.Record(runDir, e, createdByThisProcess: !resumed);
            throw;
        }
        using var app = NodeHost.Build(akka => akka.WithFederatedRun(prepared.Run));
        // The actors are stopped before the directory is marked or removed: none of them writes into it any more.
        try
        {
            try
            {
                await app.StartAsync(cancel);
                var coordinator = await app.Services.GetRequiredService<ActorRegistry>().GetAsync<RoundCoordinator>(cancel);
                var result = await prepared.DriveAsync(runDir, app.Services.GetRequiredService<ActorSystem>(), coordinator, output, cancel, resumed);
                RunFailure.Clear(runDir);
                return result;
            }
            finally
            {
                await app.StopAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            // Every completed round is checkpointed before the next begins: nothing of them is lost.
            throw Interrupted(runDir, resumed);
        }
        catch (Exception e)
        {
            RunFailure.Record(runDir, e, createdByThisProcess: !resumed);
            throw;
        }
    }

    /// <summary>The run stopped by a signal: resumable if a round is on file (or it was resumed), else its directory is removed.</summary>
    private static RunInterrupted Interrupted(RunDirectory runDir, bool resumed)
    {
        if (resumed || RunFailure.HasRounds(runDir)) return new RunInterrupted(runDir.Path, runDir.CompletedRounds());
        return RunFailure.Remove(runDir.Path) ? new RunInterrupted(runDir.Path, 0, removed: true) : new RunInterrupted(runDir.Path, 0);
    }
}

/// <summary>
/// The run was stopped (Ctrl+C, SIGTERM) after <paramref name="completedRounds"/> rounds; <c>--resume</c> continues it,
/// unless it was stopped before any round and its directory removed (<paramref name="removed"/>).
/// </summary>
/// <param name="runDirectory">The interrupted run's directory.</param>
/// <param name="completedRounds">Rounds completed and checkpointed before it stopped.</param>
/// <param name="removed">The run stopped before any round was on file, and its directory was removed.</param>
public sealed class RunInterrupted(string runDirectory, int completedRounds, bool removed = false)
    : Exception(removed
        ? $"interrupted before round 1 completed; nothing was kept (removed {runDirectory})"
        : $"interrupted after round {completedRounds}; continue with: fedactors run --resume {runDirectory}")
{
    /// <summary>Whether the run stopped before any round and its directory was removed (nothing to resume).</summary>
    public bool Removed { get; } = removed;

    /// <summary>The interrupted run's directory, to pass to <c>fedactors run --resume</c>.</summary>
    public string RunDirectory { get; } = runDirectory;

    /// <summary>How many rounds were completed and checkpointed before the run stopped.</summary>
    public int CompletedRounds { get; } = completedRounds;
}
