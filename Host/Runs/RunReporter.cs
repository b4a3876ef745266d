using System.Globalization;
using Akka.Actor;
using FedActors.Actors.Protocol;

namespace FedActors.Host.Runs;

/// <summary>Prints one line per closed round and appends it to the run's metrics.</summary>
public sealed class RunReporter : ReceiveActor
{
    public RunReporter(RunDirectory run, TextWriter output, int totalRounds, TaskCompletionSource<RunCompleted> finished)
    {
        Receive<RoundClosed>(closed =>
        {
            var s = closed.Summary;
            run.AppendMetrics(s);
            output.WriteLine(FormatLine(s, totalRounds));
            output.Flush();
        });
        // Arrives after the last RoundClosed, so every row is written when the run is reported done.
        Receive<RunCompleted>(completed => finished.TrySetResult(completed));
    }

    public static Props Props(RunDirectory run, TextWriter output, int totalRounds, TaskCompletionSource<RunCompleted> finished) =>
        Akka.Actor.Props.Create(() => new RunReporter(run, output, totalRounds, finished));

    public static string FormatLine(RoundSummary s, int totalRounds)
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"round {s.Round}/{totalRounds}  participants {s.Aggregated.Count}/{s.Selected.Count}  loss {s.MeanLoss:F4}  {s.WallSeconds:F1} s");
        if (s.Dropped.Count > 0) line += $"  dropped [{string.Join(", ", s.Dropped)}]";
        if (s.Skipped) line += "  SKIPPED (too few updates by the deadline)";
        if (s.LateReplies + s.RejectedReplies > 0) line += $"  late {s.LateReplies} rejected {s.RejectedReplies}";
        if (s.Evaluation.TryGetValue(EvaluationKeys.ProbeAccuracy, out var acc))
            line += string.Create(CultureInfo.InvariantCulture, $"  probe {acc:F3}");
        return line;
    }
}
