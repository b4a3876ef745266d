using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using FedActors.Actors.Protocol;
using FedActors.Host.Configuration;
using FedActors.Training.Weights;

namespace FedActors.Host.Runs;

/// <summary>
/// What a run leaves behind: <c>resolved.conf</c>, <c>metrics.csv</c> (one row per round,
/// appended as rounds close so an interrupted run keeps its rounds), <c>events.jsonl</c> (one
/// line per run event, flushed as it arrives) and the final global weights; hospitals'
/// round-end snapshots and the coordinator's round checkpoints go under <c>snapshots/</c>
/// (what <c>fedactors run --resume</c> continues from).
/// </summary>
public sealed class RunDirectory
{
    /// <summary>File name of the per-round metrics, one row per closed round with the columns <see cref="MetricsColumns"/>.</summary>
    public const string MetricsFile = "metrics.csv";

    /// <summary>File name of the run events (selected, dropped, retried, ...), one JSON object per line.</summary>
    public const string EventsFile = "events.jsonl";

    /// <summary>File name of the run's fully resolved configuration (HOCON), which <c>run --resume</c> and <c>report</c> read.</summary>
    public const string ResolvedConfigFile = "resolved.conf";

    /// <summary>File name of the final global model's weights, written when the run completes; its presence marks a finished run.</summary>
    public const string FinalWeightsFile = "final-global.weights";

    /// <summary>Name of the subdirectory holding hospitals' snapshots and the coordinator's round checkpoints (what a resumed run continues from).</summary>
    public const string SnapshotsDirectory = "snapshots";

    /// <summary>Name of the subdirectory holding the global models kept after rounds (<c>round-NNNN.weights</c>).</summary>
    public const string CheckpointsDirectory = "checkpoints";

    /// <summary>The columns of <see cref="MetricsFile"/>, in order. Probe columns are empty in rounds that were not evaluated.</summary>
    public static readonly string[] MetricsColumns =
    [
        "round", "selected", "accepted", "aggregated", "dropped", "lost", "late", "rejected", "surplus", "skipped", "mean_loss",
        "bytes_down", "bytes_up", "wall_seconds", "sim_seconds", "sim_clock", "stale_replies", "unexpected_replies", "duplicate_replies",
        "attempts", "local_steps", "nodes_joined", "nodes_lost", "hospitals_moved", "hospitals_restored", "probe_accuracy", "probe_balanced_accuracy", "not_aggregated", "global_hash",
        "dp_epsilon",
    ];

    private static readonly string MetricsHeader = string.Join(',', MetricsColumns) + "\n";

    private RunDirectory(string path, RunFiles? files = null)
    {
        Path = path;
        Files = files ?? RunFiles.Default;
    }

    /// <summary>How this directory's files are written (appended, or written aside and renamed; a full disk named).</summary>
    public RunFiles Files { get; }

    /// <summary>The run directory's path.</summary>
    public string Path { get; }

    /// <summary>Per run, so a new run never resumes an earlier run's hospital or coordinator state.</summary>
    public string SnapshotsPath => System.IO.Path.Combine(Path, SnapshotsDirectory);

    /// <summary>The path of the <c>checkpoints/</c> subdirectory; created by the first checkpoint.</summary>
    public string CheckpointsPath => System.IO.Path.Combine(Path, CheckpointsDirectory);

    /// <summary>Writes <c>checkpoints/round-NNNN.weights</c>, then deletes all but the newest <paramref name="keepLast"/> (0: keeps all).</summary>
    public void SaveCheckpoint(int round, ModelWeights global, int keepLast)
    {
        Directory.CreateDirectory(CheckpointsPath);
        var file = System.IO.Path.Combine(CheckpointsPath, CheckpointWriter.FileName(round));
        // Written aside and moved, so a killed process never leaves a truncated checkpoint under the final name,
        // and a failed write (a full disk) leaves no .partial behind.
        Files.WriteAtomically(file, global.WriteTo);
        if (keepLast <= 0) return;
        foreach (var old in Directory.GetFiles(CheckpointsPath, "round-*.weights").Order(StringComparer.Ordinal).SkipLast(keepLast))
            File.Delete(old);
    }

    /// <summary>The path of the run's <c>resolved.conf</c>.</summary>
    public string ResolvedConfigPath => System.IO.Path.Combine(Path, ResolvedConfigFile);

    private string MetricsPath => System.IO.Path.Combine(Path, MetricsFile);

    /// <summary>Creates <c>&lt;runsRoot&gt;/&lt;UTC timestamp&gt;</c> (suffixed if it exists).</summary>
    /// <param name="runsRoot">The runs directory.</param>
    /// <param name="resolvedConfig">The run's resolved configuration, written as <c>resolved.conf</c>.</param>
    /// <param name="nowUtc">The time that names the directory.</param>
    /// <param name="files">How its files are written (default <see cref="RunFiles.Default"/>).</param>
    public static RunDirectory Create(string runsRoot, string resolvedConfig, DateTime nowUtc, RunFiles? files = null)
    {
        var stamp = nowUtc.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        var path = System.IO.Path.Combine(runsRoot, stamp);
        for (var n = 2; Directory.Exists(path); n++) path = System.IO.Path.Combine(runsRoot, $"{stamp}-{n}");
        Directory.CreateDirectory(path);
        var run = new RunDirectory(path, files);
        try
        {
            run.Files.WriteAtomically(run.ResolvedConfigPath, resolvedConfig);
            run.Files.WriteAtomically(run.MetricsPath, MetricsHeader);
        }
        catch (IOException)
        {
            // Nothing worth keeping yet: a directory without its resolved.conf could not be resumed.
            Directory.Delete(path, recursive: true);
            throw;
        }
        return run;
    }

    /// <summary>
    /// Creates <paramref name="path"/> (if missing) or fails with a <see cref="ConfigError"/> that names the setting
    /// (<paramref name="setting"/>) and says to set it: the shipped configs' <c>/shared/...</c> paths are placeholders.
    /// </summary>
    /// <param name="path">The directory, as the setting gives it.</param>
    /// <param name="setting">The key or option that set it, named in the error (<c>fedactors.runs-dir</c>, <c>--snapshots</c>).</param>
    /// <exception cref="ConfigError">The path is under a missing <c>/shared</c>, or cannot be created.</exception>
    public static void RequireDirectory(string path, string setting)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (full.StartsWith("/shared/", StringComparison.Ordinal) && !Directory.Exists("/shared"))
            throw new ConfigError($"{setting} is '{path}', a placeholder: /shared does not exist on {Environment.MachineName}. " +
                                  $"Set {setting} to a directory on storage every node of the cluster can reach (e.g. NFS).");
        try { Directory.CreateDirectory(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ConfigError($"{setting} is '{path}', which cannot be created on {Environment.MachineName} " +
                                  $"({e.Message.TrimEnd('.')}). " +
                                  $"Set {setting} to a writable directory on storage every node of the cluster can reach.");
        }
    }

    /// <summary>
    /// The cluster run <paramref name="runId"/> under <paramref name="runsRoot"/>: created by the first
    /// coordinator node to get here, opened by the others (and by a node that takes the run over).
    /// A directory holding another configuration is a <see cref="ConfigError"/>: a run id names one experiment.
    /// </summary>
    public static RunDirectory Named(string runsRoot, string runId, string resolvedConfig)
    {
        var run = new RunDirectory(System.IO.Path.Combine(runsRoot, runId));
        Directory.CreateDirectory(run.Path);
        // CreateNew: two coordinator nodes on one machine may get here at once; the loser reads what the winner wrote.
        if (!TryCreate(run.ResolvedConfigPath, resolvedConfig) && File.ReadAllText(run.ResolvedConfigPath) != resolvedConfig)
            throw new ConfigError($"--run-id {runId}: {run.Path} holds a run of another configuration " +
                                  $"(its {ResolvedConfigFile} differs); give this experiment its own --run-id.");
        TryCreate(run.MetricsPath, MetricsHeader);
        return run;
    }

    private static bool TryCreate(string path, string text)
    {
        try
        {
            using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
            file.Write(Encoding.UTF8.GetBytes(text));
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    /// <summary>Whether rounds or events are already on file: a process that drives this run continues it.</summary>
    public bool HasRecords =>
        File.ReadLines(MetricsPath).Skip(1).Any() ||
        (File.Exists(System.IO.Path.Combine(Path, EventsFile)) && new FileInfo(System.IO.Path.Combine(Path, EventsFile)).Length > 0);

    /// <summary>Whether the run finished: its <see cref="FinalWeightsFile"/> is written.</summary>
    public bool IsFinished => File.Exists(System.IO.Path.Combine(Path, FinalWeightsFile));

    /// <summary>
    /// An existing run's directory, to resume it; a path that is not one is a <see cref="ConfigError"/>. A torn last line
    /// of metrics.csv, traffic.csv, aggregation.csv or events.jsonl (a process stopped mid-write, a full disk) is dropped,
    /// with a warning on <paramref name="warnings"/>.
    /// </summary>
    /// <param name="path">The run directory.</param>
    /// <param name="warnings">Where a dropped torn line is reported (null: nowhere).</param>
    /// <param name="files">How its files are written (default <see cref="RunFiles.Default"/>).</param>
    public static RunDirectory Open(string path, TextWriter? warnings = null, RunFiles? files = null)
    {
        if (!Directory.Exists(path)) throw new ConfigError($"--resume {path}: no such directory.");
        var run = new RunDirectory(path, files);
        if (!File.Exists(run.ResolvedConfigPath))
            throw new ConfigError($"--resume {path}: not a run directory (it has no {ResolvedConfigFile}).");
        if (FedActors.Actors.Serialization.SnapshotFiles.FindUnreadable(run.SnapshotsPath) is { } unreadable)
            throw new ConfigError($"--resume {path}: cannot resume from {unreadable}");
        foreach (var name in new[] { MetricsFile, TrafficFile, AggregationFile, EventsFile })
            if (DropTornLine(System.IO.Path.Combine(path, name)) is { } dropped)
                warnings?.WriteLine($"warning: {name} ended in a torn line ({dropped} bytes, a write cut short); dropped it");
        if (!File.Exists(run.MetricsPath) || new FileInfo(run.MetricsPath).Length == 0) run.Files.WriteAtomically(run.MetricsPath, MetricsHeader);
        return run;
    }

    /// <summary>Cuts <paramref name="file"/> after its last newline; returns how many bytes were dropped, or null if it ended whole (or is missing or empty).</summary>
    /// <param name="file">A file of lines: a CSV table or events.jsonl.</param>
    public static long? DropTornLine(string file)
    {
        if (!File.Exists(file)) return null;
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
        var length = stream.Length;
        if (length == 0) return null;
        // Back from the end, a block at a time, to the last newline.
        var buffer = new byte[4096];
        var end = length;
        while (end > 0)
        {
            var start = Math.Max(0, end - buffer.Length);
            stream.Position = start;
            stream.ReadExactly(buffer, 0, (int)(end - start));
            var newline = Array.LastIndexOf(buffer, (byte)'\n', (int)(end - start) - 1, (int)(end - start));
            if (newline >= 0)
            {
                var keep = start + newline + 1;
                if (keep == length) return null;
                stream.SetLength(keep);
                return length - keep;
            }
            end = start;
        }
        stream.SetLength(0);
        return length;
    }

    /// <summary>The rounds whose rows are on file.</summary>
    public int CompletedRounds() => File.ReadLines(MetricsPath).Skip(1).Count(l => l.Length > 0);

    /// <summary>Appends a closed round's row to metrics.csv and its rows to traffic.csv and aggregation.csv (each created with its header on first use).</summary>
    /// <param name="s">The closed round.</param>
    public void AppendMetrics(RoundSummary s)
    {
        Files.Append(MetricsPath, MetricsRow(s));
        Files.Append(TrafficPath, (File.Exists(TrafficPath) ? "" : TrafficHeader) + TrafficRows(s));
        Files.Append(AggregationPath, (File.Exists(AggregationPath) ? "" : AggregationHeader) + AggregationRows(s));
    }

    /// <summary>
    /// File name of the aggregation weights: <c>round,hospital,weight,robust_factor</c>, one row per aggregated upload;
    /// <c>robust_factor</c> is the figure the weight derives from where the method has one (Fed-MAS), empty otherwise.
    /// </summary>
    public const string AggregationFile = "aggregation.csv";
    private const string AggregationHeader = "round,hospital,weight,robust_factor\n";
    private string AggregationPath => System.IO.Path.Combine(Path, AggregationFile);

    /// <summary>Rows of <c>aggregation.csv</c>: the weight the method's server gave each aggregated upload, and the factor it derives from.</summary>
    private static string AggregationRows(RoundSummary s) => string.Concat((s.AggregationWeights ?? new Dictionary<string, double>())
        .OrderBy(w => w.Key, StringComparer.Ordinal).Select(w =>
            $"{s.Round.ToString(CultureInfo.InvariantCulture)},{w.Key},{Number(w.Value)},{(s.AggregationFactors?.TryGetValue(w.Key, out var f) == true ? Number(f) : "")}\n"));

    /// <summary>File name of the traffic table: <c>round,hospital,direction,kind,bytes</c>.</summary>
    public const string TrafficFile = "traffic.csv";
    private const string TrafficHeader = "round,hospital,direction,kind,bytes\n";
    private string TrafficPath => System.IO.Path.Combine(Path, TrafficFile);

    /// <summary>Rows of <c>traffic.csv</c>: bytes per round, hospital, direction (down, up) and payload kind.</summary>
    private static string TrafficRows(RoundSummary s) => string.Concat((s.Traffic ?? []).Select(t =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Round},{t.HospitalId},{t.Direction},{t.Kind},{t.Bytes}\n")));

    /// <summary>Keeps the metrics and traffic rows of rounds before <paramref name="round"/>: the others are about to be written again.</summary>
    public void DropMetricsFrom(int round)
    {
        var kept = File.ReadAllLines(MetricsPath).Skip(1)
            .Where(l => int.TryParse(l.Split(',')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) && r < round);
        Files.WriteAtomically(MetricsPath, MetricsHeader + string.Concat(kept.Select(l => l + "\n")));
        KeepRowsBefore(TrafficPath, TrafficHeader, round);
        KeepRowsBefore(AggregationPath, AggregationHeader, round);
    }

    private void KeepRowsBefore(string file, string header, int round)
    {
        if (!File.Exists(file)) return;
        var kept = File.ReadAllLines(file).Skip(1)
            .Where(l => int.TryParse(l.Split(',')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var r) && r < round);
        Files.WriteAtomically(file, header + string.Concat(kept.Select(l => l + "\n")));
    }

    /// <summary>Writes the metrics anew from the run's history: one row per round, whatever earlier processes left.</summary>
    public void RewriteMetrics(IEnumerable<RoundSummary> rounds)
    {
        var all = rounds.ToList();
        Files.WriteAtomically(MetricsPath, MetricsHeader + string.Concat(all.Select(MetricsRow)));
        Files.WriteAtomically(TrafficPath, TrafficHeader + string.Concat(all.Select(TrafficRows)));
        Files.WriteAtomically(AggregationPath, AggregationHeader + string.Concat(all.Select(AggregationRows)));
    }

    private static string MetricsRow(RoundSummary s)
    {
        static string I(long v) => v.ToString(CultureInfo.InvariantCulture);
        string Eval(string key) => s.Evaluation.TryGetValue(key, out var v) ? Number(v) : "";
        var row = new[]
        {
            I(s.Round), I(s.Selected.Count), I(s.Accepted.Count), I(s.Aggregated.Count), I(s.Dropped.Count), I(s.Lost.Count), I(s.Late.Count),
            I(s.Rejected.Count), I(s.Surplus.Count), s.Skipped ? "1" : "0", Number(s.MeanLoss),
            I(s.BytesDown), I(s.BytesUp), Number(s.WallSeconds), Number(s.SimulatedSeconds), Number(s.SimulatedClock),
            I(s.StaleReplies), I(s.UnexpectedReplies), I(s.DuplicateReplies), I(s.Attempts), I(s.LocalSteps),
            I(s.NodesJoined), I(s.NodesLost), I(s.HospitalsMoved), I(s.HospitalsRestored),
            Eval(EvaluationKeys.ProbeAccuracy), Eval(EvaluationKeys.ProbeBalancedAccuracy), NotAggregated(s), s.GlobalHash,
            s.PrivacyEpsilon > 0 ? Number(s.PrivacyEpsilon) : "",
        };
        return string.Join(',', row) + "\n";
    }

    /// <summary>Each selected hospital left out of the aggregate with its outcome, e.g. <c>hospital-03:dropped;hospital-06:late</c>.</summary>
    private static string NotAggregated(RoundSummary s) => string.Join(';',
        s.Outcomes.SelectMany(o => o.HospitalIds.Where(id => !s.Aggregated.Contains(id)).Select(id => (Id: id, o.Kind)))
            .OrderBy(x => x.Id, StringComparer.Ordinal).Select(x => $"{x.Id}:{x.Kind}"));

    private static string Number(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary><c>events.jsonl</c> opened for appending, flushed on every line so a killed process keeps what it wrote.</summary>
    public StreamWriter OpenEvents() => Files.OpenAppend(System.IO.Path.Combine(Path, EventsFile));

    /// <summary>One line of <c>events.jsonl</c>: round, attempt, kind, hospital (null for the whole round), reason, sim_s (null if not finite).</summary>
    public static string EventJson(RunEvent e)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("round", e.Round);
            json.WriteNumber("attempt", e.Attempt);
            json.WriteString("kind", e.Kind);
            json.WriteString("hospital", e.HospitalId);
            json.WriteString("reason", e.Reason);
            if (double.IsFinite(e.SimulatedSeconds)) json.WriteNumber("sim_s", e.SimulatedSeconds);
            else json.WriteNull("sim_s");
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>File name of the end-of-run evaluation (label efficiency, segmentation or the global classifier's figures), if the method is judged by one.</summary>
    public const string EvaluationFile = "evaluation.csv";

    /// <summary>
    /// <c>evaluation.csv</c>: protocol (linear-probe, fine-tune, majority-class), encoder (final, random-init, none), split
    /// (test, test-shifted), label_fraction, labelled, accuracy, balanced_accuracy, selected_step (chosen on validation
    /// balanced accuracy), step_budget (optimiser steps taken), validation_balanced_accuracy, and local_steps (the run's
    /// local optimiser steps in all, the same on every row); one row per figure.
    /// </summary>
    /// <param name="results">The figures, in the order written.</param>
    /// <param name="localSteps">The local optimiser steps of the aggregated updates, summed over hospitals and rounds.</param>
    public void WriteEvaluation(IEnumerable<FedActors.Training.Experiments.LabelEfficiency> results, long localSteps) =>
        Files.WriteAtomically(System.IO.Path.Combine(Path, EvaluationFile),
            "protocol,encoder,split,label_fraction,labelled,accuracy,balanced_accuracy,selected_step,step_budget,validation_balanced_accuracy,local_steps\n" +
            string.Concat(results.Select(e =>
                $"{e.Protocol},{e.Encoder},{e.Split},{Number(e.LabelFraction)},{e.Labelled.ToString(CultureInfo.InvariantCulture)},{Number(e.Accuracy)},{Number(e.BalancedAccuracy)}," +
                $"{e.SelectedStep.ToString(CultureInfo.InvariantCulture)},{e.StepBudget.ToString(CultureInfo.InvariantCulture)},{Number(e.ValidationBalancedAccuracy)},{localSteps.ToString(CultureInfo.InvariantCulture)}\n")));

    /// <summary>Segmentation figures (volumetric sources) into evaluation.csv: one row per protocol and N, each hospital's Dice beside the mean.</summary>
    public void WriteSegmentation(IReadOnlyList<FedActors.Training.Evaluation.SegmentationScore> scores)
    {
        var hospitals = scores.SelectMany(s => s.PerHospital.Keys).Distinct().Order(StringComparer.Ordinal).ToList();
        Files.WriteAtomically(System.IO.Path.Combine(Path, EvaluationFile),
            "protocol,labelled_volumes,dice,dice_std_over_hospitals," + string.Concat(hospitals.Select(h => $"dice_{h},")) + "skipped\n" +
            string.Concat(scores.Select(s => $"{s.Protocol},{s.LabelledVolumes.ToString(CultureInfo.InvariantCulture)},{Number(s.Dice)},{Number(s.DiceStd)}," +
                string.Concat(hospitals.Select(h => (s.PerHospital.TryGetValue(h, out var d) ? Number(d) : "") + ",")) + (s.Skipped ?? "").Replace(',', ';') + "\n")));
    }

    /// <summary>
    /// The global classifier's figures into evaluation.csv (one row: the round chosen on validation, its test accuracy and
    /// balanced accuracy, each hospital's balanced accuracy; then, where computed, the majority-class baseline's row) and
    /// every round's into classifier.csv.
    /// </summary>
    public void WriteClassifierEvaluation(FedActors.Training.Evaluation.ClassifierEvaluation e)
    {
        var hospitals = e.SiteBalancedAccuracy.Keys.Order(StringComparer.Ordinal).ToList();
        Files.WriteAtomically(System.IO.Path.Combine(Path, EvaluationFile),
            "protocol,label_fraction,round,accuracy,balanced_accuracy,validation_balanced_accuracy" + string.Concat(hospitals.Select(h => $",balanced_accuracy_{h}")) + "\n" +
            $"{FedActors.Training.Evaluation.ClassifierEvaluation.Protocol},1,{e.Chosen.Round.ToString(CultureInfo.InvariantCulture)},{Number(e.Chosen.TestAccuracy)}," +
            $"{Number(e.Chosen.TestBalancedAccuracy)},{Number(e.Chosen.ValidationBalancedAccuracy)}" + string.Concat(hospitals.Select(h => "," + Number(e.SiteBalancedAccuracy[h]))) + "\n" +
            (e.Majority is { } m
                ? $"majority-class,1,,{Number(m.Accuracy)},{Number(m.BalancedAccuracy)}," + string.Concat(hospitals.Select(h => "," + (m.SiteBalancedAccuracy.TryGetValue(h, out var b) ? Number(b) : ""))) + "\n"
                : ""));
        Files.WriteAtomically(System.IO.Path.Combine(Path, ClassifierFile),
            "round,validation_balanced_accuracy,test_balanced_accuracy,test_accuracy\n" + string.Concat(e.Rounds.Select(r =>
                $"{r.Round.ToString(CultureInfo.InvariantCulture)},{Number(r.ValidationBalancedAccuracy)},{Number(r.TestBalancedAccuracy)},{Number(r.TestAccuracy)}\n")));
    }

    /// <summary>File name of every round's global-classifier figures: <c>round,validation_balanced_accuracy,test_balanced_accuracy,test_accuracy</c>.</summary>
    public const string ClassifierFile = "classifier.csv";

    /// <summary>The global models kept in <c>checkpoints/</c>, by round, oldest first.</summary>
    public IReadOnlyList<(int Round, ModelWeights Global)> Checkpoints() =>
        Directory.Exists(CheckpointsPath)
            ? Directory.GetFiles(CheckpointsPath, "round-*.weights").Order(StringComparer.Ordinal)
                .Select(f => (int.Parse(System.IO.Path.GetFileNameWithoutExtension(f)["round-".Length..], CultureInfo.InvariantCulture), ModelWeights.Load(f))).ToList()
            : [];

    /// <summary>Writes <paramref name="weights"/> as <see cref="FinalWeightsFile"/>, marking the run finished.</summary>
    /// <param name="weights">The run's final global model.</param>
    public void SaveFinalWeights(ModelWeights weights) => Files.WriteAtomically(System.IO.Path.Combine(Path, FinalWeightsFile), weights.WriteTo);
}

/// <summary>Keys of a round's evaluation figures (<see cref="RoundSummary.Evaluation"/>), which are also metrics.csv's column names.</summary>
public static class EvaluationKeys
{
    /// <summary>The global encoder's linear-probe accuracy on the test images, 0 to 1.</summary>
    public const string ProbeAccuracy = "probe_accuracy";

    /// <summary>The global encoder's linear-probe balanced accuracy (mean per-class recall), 0 to 1.</summary>
    public const string ProbeBalancedAccuracy = "probe_balanced_accuracy";
}
