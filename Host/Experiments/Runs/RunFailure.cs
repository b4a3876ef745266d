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
        if (createdByThisProcess && !HasRounds(run))
        {
            try { Directory.Delete(run.Path, recursive: true); return true; }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        var (message, code) = Describe(e);
        var firstLine = message.Split('\n')[0].TrimEnd('\r');
        try { File.WriteAllText(Path.Combine(run.Path, FileName), firstLine + "\n" + code.ToString(CultureInfo.InvariantCulture) + "\n"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
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
