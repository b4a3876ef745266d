using System.Globalization;
using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Host.Runs;

/// <summary>
/// Prints one line per closed round and writes the run directory as the run goes: a metrics row
/// per round, an <c>events.jsonl</c> line per run event. A round closed again (the coordinator
/// recovered from an older checkpoint, or the run was resumed) replaces its row and those after.
/// </summary>
public sealed class RunReporter : ReceiveActor
{
    private readonly StreamWriter _events;

    /// <summary>Creates the reporter; it opens the run's events.jsonl for appending until it stops.</summary>
    /// <param name="run">The run directory written as rounds close.</param>
    /// <param name="output">Where one line per closed round is printed.</param>
    /// <param name="totalRounds">The run's number of rounds, for <c>round N/total</c>.</param>
    /// <param name="finished">Completed with the coordinator's <see cref="RunCompleted"/> once the metrics are final.</param>
    /// <param name="resumed">This process continues a run begun by another (<c>fedactors run --resume</c>).</param>
    /// <param name="live">A terminal's status line, fed as the round goes; null (logs, CI) prints the round lines alone.</param>
    public RunReporter(RunDirectory run, TextWriter output, int totalRounds, TaskCompletionSource<RunCompleted> finished, bool resumed = false,
        LiveProgress? live = null)
    {
        // An events file that cannot be opened fails the run at once: a reporter that never started would leave it waiting forever.
        try { _events = run.OpenEvents(); }
        catch (Exception e)
        {
            finished.TrySetException(e);
            throw;
        }
        var tensorBoard = new TensorBoardLog(System.IO.Path.Combine(run.Path, TensorBoardLog.Directory));
        // Rows up to this round are on file; a resumed run does not know which, so its first round replaces them.
        var written = resumed ? int.MaxValue : 0;
        var announced = !resumed;

        void Say(string line)
        {
            if (live is not null) live.Permanent(line);
            else output.WriteLine(line);
            output.Flush();
        }

        Receive<RoundProgress>(p => live?.Update(p));

        // A file that cannot be written (a full disk) stops the run with that one error, rather than restarting this actor
        // (which would lose the rows in between) or logging the same failure every round.
        var failed = false;
        bool Write(Action write)
        {
            if (failed) return false;
            try { write(); return true; }
            catch (Exception e)
            {
                failed = true;
                finished.TrySetException(e);
                return false;
            }
        }

        Receive<RunEvent>(e =>
        {
            if (!Write(() => _events.WriteLine(RunDirectory.EventJson(e)))) return;
            // Without checkpoints the run could not be resumed: stop it now with one error; once space is freed, --resume continues it.
            if (e.Kind == RunEventKinds.StorageFull)
                Write(() => throw new DiskFullException(Directory.Exists(run.SnapshotsPath) ? run.SnapshotsPath : "the snapshot store", new IOException(e.Reason)));
            if (e.Kind != RunEventKinds.CoordinatorRecovered) return;
            Say(announced
                ? $"coordinator recovered: {e.Reason}"
                : e.Round > 1
                    ? $"resumed: continuing from round {e.Round}/{totalRounds} (checkpoint after round {e.Round - 1} in {RunDirectory.SnapshotsDirectory}/)"
                    : $"resumed: no round had completed, starting from round 1/{totalRounds}");
            announced = true;
        });
        Receive<RoundClosed>(closed =>
        {
            var s = closed.Summary;
            if (!announced) Say($"resumed: no round checkpoint found, starting from round {s.Round}/{totalRounds}");
            announced = true;
            if (!Write(() =>
                {
                    if (s.Round <= written) run.DropMetricsFrom(s.Round);
                    run.AppendMetrics(s);
                    tensorBoard.Write(s);
                })) return;
            written = s.Round;
            live?.RoundClosed(s);
            Say(FormatLine(s, totalRounds));
        });
        // Arrives after the last RoundClosed; the history it carries is the run's, so the metrics end with one row per round.
        Receive<RunCompleted>(completed =>
        {
            if (!announced) Say($"resumed: all {totalRounds} rounds had already completed");
            live?.Clear();
            if (Write(() => run.RewriteMetrics(completed.Rounds))) finished.TrySetResult(completed);
        });
    }

    /// <summary>
    /// The files and folders a run directory holds, in the order a reader meets them, for the run's closing line
    /// (<c>wrote resolved.conf, metrics.csv, traffic.csv, …</c>): only those that exist, folders with a trailing <c>/</c>.
    /// </summary>
    /// <param name="runDirectory">The run directory, once the run's results are written.</param>
    public static IReadOnlyList<string> Written(string runDirectory)
    {
        string[] files =
        [
            RunDirectory.ResolvedConfigFile, RunDirectory.MetricsFile, RunDirectory.TrafficFile, RunDirectory.AggregationFile,
            RunDirectory.EventsFile, RunDirectory.EvaluationFile, RunDirectory.ClassifierFile, RunDirectory.FinalWeightsFile,
        ];
        string[] folders = [RunDirectory.CheckpointsDirectory, RunDirectory.SnapshotsDirectory, RunPlots.Directory, TensorBoardLog.Directory];
        return files.Where(f => File.Exists(System.IO.Path.Combine(runDirectory, f)))
            .Concat(folders.Where(d => Directory.Exists(System.IO.Path.Combine(runDirectory, d))).Select(d => d + "/"))
            .Concat(ExtraWritten.Where(f => File.Exists(System.IO.Path.Combine(runDirectory, f))))
            .ToList();
    }

    /// <summary>Files listed after the folders (the run's own report, opened from the path printed).</summary>
    private static readonly string[] ExtraWritten = [Reports.HtmlReport.RunFile];

    /// <summary>Closes events.jsonl.</summary>
    protected override void PostStop()
    {
        try { _events.Dispose(); }
        catch (IOException) { } // its last write failed and was reported
    }

    /// <summary>Props of a <see cref="RunReporter"/>; the parameters are the constructor's.</summary>
    /// <param name="run">The run directory written as rounds close.</param>
    /// <param name="output">Where one line per closed round is printed.</param>
    /// <param name="totalRounds">The run's number of rounds.</param>
    /// <param name="finished">Completed with the coordinator's <see cref="RunCompleted"/> once the metrics are final.</param>
    /// <param name="resumed">This process continues a run begun by another.</param>
    /// <param name="live">A terminal's status line, or null.</param>
    public static Props Props(RunDirectory run, TextWriter output, int totalRounds, TaskCompletionSource<RunCompleted> finished, bool resumed = false,
        LiveProgress? live = null) =>
        Akka.Actor.Props.Create(() => new RunReporter(run, output, totalRounds, finished, resumed, live));

    /// <summary>
    /// The line printed for a closed round: participants, mean loss, wall and simulated seconds, then only what
    /// happened (retries, hospitals per non-accepted outcome, a skipped round, odd replies, the probe's accuracy).
    /// </summary>
    /// <param name="s">The closed round.</param>
    /// <param name="totalRounds">The run's number of rounds.</param>
    public static string FormatLine(RoundSummary s, int totalRounds)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"round {s.Round}/{totalRounds}  participants {s.Aggregated.Count}/{s.Selected.Count}  loss {s.MeanLoss:F4}  {s.WallSeconds:F1} s  sim {s.SimulatedSeconds:F1} s");
        if (s.Attempts > 1) line += $"  attempts {s.Attempts}";
        foreach (var (outcome, ids) in s.Outcomes.Where(o => o.Kind != RunEventKinds.Accepted))
            if (ids.Count > 0) line += $"  {outcome} [{string.Join(", ", ids)}]";
        if (s.Skipped) line += "  SKIPPED (too few updates)";
        if (s.StaleReplies + s.UnexpectedReplies + s.DuplicateReplies > 0)
            line += $"  replies: stale {s.StaleReplies} unexpected {s.UnexpectedReplies} duplicate {s.DuplicateReplies}";
        if (s.Evaluation.TryGetValue(EvaluationKeys.ProbeAccuracy, out var acc))
            line += string.Create(CultureInfo.InvariantCulture, $"  probe {acc:F3}");
        return line;
    }
}
