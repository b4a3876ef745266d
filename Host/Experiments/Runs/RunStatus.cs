namespace FedActors.Host.Runs;

/// <summary>
/// What state a run directory is in, from the files it holds: <see cref="Completed"/> (its final model is written),
/// <see cref="Failed"/> (<see cref="FailedFile"/>: the error line, then the exit code), <see cref="Resumable"/> (a round
/// checkpoint or snapshot but neither of those: <c>fedactors run --resume</c> continues it), or <see cref="NotStarted"/>
/// (none of them: still running its first round, or stopped before it).
/// </summary>
public static class RunStatus
{
    /// <summary>The file a failed run leaves in its directory (<see cref="RunFailure.FileName"/>): line 1 the error line, line 2 the exit code.</summary>
    public const string FailedFile = RunFailure.FileName;

    /// <summary>The final global model is written: the run finished.</summary>
    public const string Completed = "completed";

    /// <summary>The run stopped on an error recorded in <see cref="FailedFile"/>.</summary>
    public const string Failed = "failed";

    /// <summary>Interrupted after a checkpointed round: <c>fedactors run --resume DIR</c> continues it.</summary>
    public const string Resumable = "interrupted-resumable";

    /// <summary>No final model, no failure, no checkpoint: running its first round, or stopped before one completed.</summary>
    public const string NotStarted = "no-checkpoint";

    /// <summary>The status of <paramref name="directory"/> (one of the constants above).</summary>
    /// <param name="directory">A run directory.</param>
    public static string Of(string directory)
    {
        if (File.Exists(Path.Combine(directory, RunDirectory.FinalWeightsFile))) return Completed;
        if (File.Exists(Path.Combine(directory, FailedFile))) return Failed;
        var snapshots = Path.Combine(directory, RunDirectory.SnapshotsDirectory);
        var checkpoints = Path.Combine(directory, RunDirectory.CheckpointsDirectory);
        return HasFiles(snapshots) || HasFiles(checkpoints) ? Resumable : NotStarted;
    }

    /// <summary>A failed run's error line (line 1 of <see cref="FailedFile"/>), or null where there is none.</summary>
    /// <param name="directory">A run directory.</param>
    public static string? FailureOf(string directory)
    {
        var file = Path.Combine(directory, FailedFile);
        return File.Exists(file) ? File.ReadLines(file).FirstOrDefault()?.Trim() : null;
    }

    private static bool HasFiles(string directory) =>
        Directory.Exists(directory) && Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Any();
}
