using System.Globalization;
using FedActors.Host.Configuration;

namespace FedActors.Host.Runs;

/// <summary>
/// What a failed command prints and exits with, and what a failed run leaves behind. A run that fails before its first
/// round is on file leaves nothing (its directory is removed: nothing in it was worth keeping); one that fails later
/// keeps its directory, marked with <see cref="FileName"/>: the error line the command printed, then the exit code.
/// </summary>
public static class RunFailure
{
    /// <summary>The file that marks a failed run directory: line 1 the error (as printed to stderr), line 2 the exit code.</summary>
    public const string FileName = "failed.txt";

    /// <summary>Exit code of a failure in the program or its environment (an unexpected exception, a full disk).</summary>
    public const int RunFailedExitCode = 1;

    /// <summary>Exit code of the user's error: a bad configuration or bad data.</summary>
    public const int UserErrorExitCode = 2;

    /// <summary>
    /// The message printed to stderr for <paramref name="e"/> and the exit code: a configuration or data error is one
    /// line and exit 2; a full disk is one line and exit 1; anything else is exit 1 with the stack trace after its first line.
    /// </summary>
    public static (string Message, int ExitCode) Describe(Exception e) => e switch
    {
        ConfigError => ($"fedactors: configuration error: {e.Message}", UserErrorExitCode),
        FedActors.Training.Data.DataFormatException => ($"fedactors: data error: {e.Message}", UserErrorExitCode),
        _ when DiskFullException.IsDiskFull(e) => ($"fedactors: {DiskFullMessage(e)}", RunFailedExitCode),
        _ => ($"fedactors: run failed: {e}", RunFailedExitCode),
    };

    private static string DiskFullMessage(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
            if (x is DiskFullException full) return full.Message;
        return $"disk full: {e.Message}";
    }

    /// <summary>
    /// After <paramref name="e"/> stopped the run in <paramref name="run"/>: removes the directory when
    /// <paramref name="createdByThisProcess"/> and no round is on file, else writes <see cref="FileName"/>
    /// (best effort: on a full disk it may not fit).
    /// </summary>
    /// <returns>Whether the directory was removed.</returns>
    public static bool Record(RunDirectory run, Exception e, bool createdByThisProcess)
    {
        if (createdByThisProcess && !HasRounds(run) && Remove(run.Path)) return true;
        var (message, code) = Describe(e);
        var firstLine = message.Split('\n')[0].TrimEnd('\r');
        try { File.WriteAllText(Path.Combine(run.Path, FileName), firstLine + "\n" + code.ToString(CultureInfo.InvariantCulture) + "\n"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }

    /// <summary>
    /// Removes a run directory whole. It is first renamed aside (atomic within its parent), then deleted: a write still in
    /// flight when the run stopped (Akka.Persistence's snapshot store finishes its file writes on its own threads, after the
    /// actor system is gone) then fails on the old path or lands in the renamed directory, instead of making the delete
    /// fail half-way and leaving the directory behind.
    /// </summary>
    /// <returns>Whether nothing is left at <paramref name="path"/>.</returns>
    internal static bool Remove(string path)
    {
        var aside = $"{path}.removing-{Guid.NewGuid():N}";
        try { Directory.Move(path, aside); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                Directory.Delete(aside, recursive: true);
                return true;
            }
            // A straggler's file created in the renamed directory between listing and deleting: list again.
            catch (IOException) when (attempt < 3) { }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return true; } // out of the run's path already
        }
    }

    /// <summary>Removes <see cref="FileName"/>: the run goes on again (resumed) or has finished.</summary>
    public static void Clear(RunDirectory run)
    {
        try { File.Delete(Path.Combine(run.Path, FileName)); }
        catch (IOException) { }
    }

    /// <summary>Whether any round of <paramref name="run"/> is on file (a row of metrics.csv).</summary>
    public static bool HasRounds(RunDirectory run)
    {
        try { return run.CompletedRounds() > 0; }
        catch (IOException) { return true; }
    }
}
