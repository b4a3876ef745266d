using System.Globalization;
using FedActors.Actors.Protocol;
using FedActors.Training.Weights;

namespace FedActors.Host.Runs;

/// <summary>
/// What a run leaves behind: <c>resolved.conf</c>, <c>metrics.csv</c> (one row per round,
/// appended as rounds close so an interrupted run keeps its rounds) and the final global
/// weights; hospitals' round-end snapshots go under <c>snapshots/</c>.
/// </summary>
public sealed class RunDirectory
{
    public const string MetricsFile = "metrics.csv";
    public const string ResolvedConfigFile = "resolved.conf";
    public const string FinalWeightsFile = "final-global.weights";
    public const string SnapshotsDirectory = "snapshots";

    public static readonly string[] MetricsColumns =
    [
        "round", "selected", "aggregated", "dropped", "skipped", "mean_loss", "bytes_down", "bytes_up",
        "wall_seconds", "late_replies", "rejected_replies", "probe_accuracy", "probe_balanced_accuracy",
        "dropped_hospitals", "global_hash",
    ];

    private RunDirectory(string path) => Path = path;

    public string Path { get; }

    /// <summary>Per run, so a new run never resumes an earlier run's hospital state.</summary>
    public string SnapshotsPath => System.IO.Path.Combine(Path, SnapshotsDirectory);

    /// <summary>Creates <c>&lt;runsRoot&gt;/&lt;UTC timestamp&gt;</c> (suffixed if it exists).</summary>
    public static RunDirectory Create(string runsRoot, string resolvedConfig, DateTime nowUtc)
    {
        var stamp = nowUtc.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var path = System.IO.Path.Combine(runsRoot, stamp);
        for (var n = 2; Directory.Exists(path); n++) path = System.IO.Path.Combine(runsRoot, $"{stamp}-{n}");
        Directory.CreateDirectory(path);
        var run = new RunDirectory(path);
        File.WriteAllText(System.IO.Path.Combine(path, ResolvedConfigFile), resolvedConfig);
        File.WriteAllText(System.IO.Path.Combine(path, MetricsFile), string.Join(',', MetricsColumns) + "\n");
        return run;
    }

    public void AppendMetrics(RoundSummary s)
    {
        string F(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
        string Eval(string key) => s.Evaluation.TryGetValue(key, out var v) ? F(v) : "";
        var row = new[]
        {
            s.Round.ToString(CultureInfo.InvariantCulture), s.Selected.Count.ToString(CultureInfo.InvariantCulture),
            s.Aggregated.Count.ToString(CultureInfo.InvariantCulture), s.Dropped.Count.ToString(CultureInfo.InvariantCulture),
            s.Skipped ? "1" : "0", F(s.MeanLoss), s.BytesDown.ToString(CultureInfo.InvariantCulture),
            s.BytesUp.ToString(CultureInfo.InvariantCulture), F(s.WallSeconds),
            s.LateReplies.ToString(CultureInfo.InvariantCulture), s.RejectedReplies.ToString(CultureInfo.InvariantCulture),
            Eval(EvaluationKeys.ProbeAccuracy), Eval(EvaluationKeys.ProbeBalancedAccuracy),
            string.Join(';', s.Dropped), s.GlobalHash,
        };
        File.AppendAllText(System.IO.Path.Combine(Path, MetricsFile), string.Join(',', row) + "\n");
    }

    public void SaveFinalWeights(ModelWeights weights) => weights.Save(System.IO.Path.Combine(Path, FinalWeightsFile));
}

public static class EvaluationKeys
{
    public const string ProbeAccuracy = "probe_accuracy";
    public const string ProbeBalancedAccuracy = "probe_balanced_accuracy";
}
