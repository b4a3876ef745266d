using System.Globalization;
using System.Text;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;
using FedActors.Training.Methods;

namespace FedActors.Host.Reports;

/// <summary>What a report reads of one run directory.</summary>
/// <param name="Directory">The run directory as given on the command line.</param>
/// <param name="Config">The run's <c>resolved.conf</c> flattened to full keys (<c>fedactors.seed</c>, ...), with keys added since the run filled in at their defaults.</param>
/// <param name="Rounds">metrics.csv's rows, one per completed round, column name to cell text; empty for a run that completed no round.</param>
/// <param name="Evaluation">evaluation.csv's rows (the end-of-run figures: label efficiency, segmentation or the global classifier), or empty if the run wrote none.</param>
public sealed record ReportedRun(
    string Directory, IReadOnlyDictionary<string, string> Config, IReadOnlyList<IReadOnlyDictionary<string, string>> Rounds,
    IReadOnlyList<IReadOnlyDictionary<string, string>> Evaluation)
{
    /// <summary>The run's seed as written in its config (<see cref="SeedKey"/>), or <c>?</c> if it is not set.</summary>
    public string Seed => Config.GetValueOrDefault(SeedKey, "?");

    /// <summary>classifier.csv's rows (round, validation and test balanced accuracy, test accuracy), if the run wrote one.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> ClassifierRounds { get; init; } = [];

    /// <summary>aggregation.csv's rows (round, hospital, weight), if the run wrote one.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Aggregation { get; init; } = [];

    /// <summary>traffic.csv's rows (round, hospital, direction, kind, bytes), if the run wrote one.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Traffic { get; init; } = [];

    /// <summary>A failed run's error (line 1 of <see cref="RunStatus.FailedFile"/>), or null; a failed run is named with it and left out.</summary>
    public string? Failure { get; init; }

    /// <summary>Whether the run wrote its final model; an unfinished run is listed but left out of the figures.</summary>
    public bool Finished => Rounds.Count > 0 && File.Exists(Path.Combine(Directory, RunDirectory.FinalWeightsFile));

    /// <summary>The config key of the run's seed: runs that differ only in it are seeds of one variant.</summary>
    public const string SeedKey = "fedactors.seed";

    /// <summary>Reads <c>resolved.conf</c>, <c>metrics.csv</c> and, if present, <c>evaluation.csv</c>; a directory that is not a finished run is a <see cref="ConfigError"/>.</summary>
    public static ReportedRun Read(string directory)
    {
        var resolved = Path.Combine(directory, RunDirectory.ResolvedConfigFile);
        var metrics = Path.Combine(directory, RunDirectory.MetricsFile);
        // A failed run is named in the report with its error, whatever it left behind.
        if (RunStatus.FailureOf(directory) is { } failure && RunStatus.Of(directory) == RunStatus.Failed)
            return new ReportedRun(directory, File.Exists(resolved) ? WithDefaults(ExperimentConfig.Flatten(File.ReadAllText(resolved), resolved)) : new Dictionary<string, string>(),
                [], []) { Failure = failure };
        if (!File.Exists(resolved) || !File.Exists(metrics))
            throw new ConfigError($"{directory}: not a run directory (it needs {RunDirectory.ResolvedConfigFile} and {RunDirectory.MetricsFile}).");
        var rounds = Csv(metrics); // may be empty: a run that has not finished a round is listed as unfinished
        var evaluation = Path.Combine(directory, RunDirectory.EvaluationFile);
        var traffic = Path.Combine(directory, RunDirectory.TrafficFile);
        var aggregation = Path.Combine(directory, RunDirectory.AggregationFile);
        var classifier = Path.Combine(directory, RunDirectory.ClassifierFile);
        return new ReportedRun(directory, WithDefaults(ExperimentConfig.Flatten(File.ReadAllText(resolved), resolved)), rounds,
            File.Exists(evaluation) ? Csv(evaluation) : [])
        {
            Traffic = File.Exists(traffic) ? Csv(traffic) : [],
            Aggregation = File.Exists(aggregation) ? Csv(aggregation) : [],
            ClassifierRounds = File.Exists(classifier) ? Csv(classifier) : [],
        };
    }

    private static readonly Lazy<IReadOnlyDictionary<string, string>> Defaults =
        new(() => ExperimentConfig.Flatten(ExperimentConfig.EmbeddedDefaultText(), "embedded default"));

    /// <summary>A run made before a key existed ran as its default does: filled in, so it is not told apart by that key alone.</summary>
    private static IReadOnlyDictionary<string, string> WithDefaults(IReadOnlyDictionary<string, string> config)
    {
        var all = new Dictionary<string, string>(config, StringComparer.Ordinal);
        foreach (var (key, value) in Defaults.Value) all.TryAdd(key, value);
        return all;
    }

    private static List<IReadOnlyDictionary<string, string>> Csv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (lines.Count == 0) throw new ConfigError($"{path}: empty, not even a header.");
        var header = lines[0].Split(',');
        return lines.Skip(1).Select((line, i) =>
        {
            var cells = line.Split(',');
            if (cells.Length != header.Length) throw new ConfigError($"{path}:{i + 2}: {cells.Length} cells, the header has {header.Length}.");
            return (IReadOnlyDictionary<string, string>)header.Zip(cells).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal);
        }).ToList();
    }

    /// <summary>The cell of <paramref name="column"/> in <paramref name="row"/> as a number, or <see cref="double.NaN"/> if the column is missing or the cell is not a number (e.g. an empty, not-evaluated cell).</summary>
    /// <param name="row">A row of one of this run's CSV files.</param>
    /// <param name="column">The column name.</param>
    public double Number(IReadOnlyDictionary<string, string> row, string column) =>
        row.TryGetValue(column, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;
}

/// <summary>
/// A markdown comparison of runs: runs whose configs differ only in the seed form one variant,
/// named by the keys where variants differ; each figure is mean ± sample std over its seeds.
/// </summary>
public static class RunReport
{
    /// <summary>
    /// Keys that differ between runs without making them different experiments: the seed, where runs go, threads, and
    /// Fed-MAS's auxiliary encoder, which is pre-trained per seed on that seed's training images.
    /// </summary>
    private static readonly HashSet<string> Incidental =
    [
        ReportedRun.SeedKey, "fedactors.runs-dir", "fedactors.torch-threads", "fedactors.training-threads",
        "fedactors.fedmas.auxiliary", "fedactors.fedmas.auxiliary-hash",
    ];

    /// <summary>Runs whose configs differ only in incidental keys (seed, runs directory, threads, Fed-MAS's per-seed auxiliary encoder).</summary>
    /// <param name="Name">The keys where this variant differs from the others, as <c>key=value, ...</c> (without <c>fedactors.</c>), or <c>all runs</c> if none differ.</param>
    /// <param name="Runs">The variant's runs, ordered by seed.</param>
    public sealed record Variant(string Name, IReadOnlyList<ReportedRun> Runs);

    /// <summary>Groups <paramref name="runs"/> into variants, in the order each variant's first run appears.</summary>
    /// <param name="runs">The runs to group; callers pass finished runs only.</param>
    public static IReadOnlyList<Variant> Group(IReadOnlyList<ReportedRun> runs)
    {
        var keys = runs.SelectMany(r => r.Config.Keys).Where(k => !Incidental.Contains(k)).Distinct().Order(StringComparer.Ordinal).ToList();
        var differing = keys.Where(k => runs.Select(r => r.Config.GetValueOrDefault(k, "")).Distinct().Count() > 1).ToList();
        string Name(ReportedRun r)
        {
            var method = r.Config.GetValueOrDefault(MethodKey, "");
            var named = differing.Where(k => !IsOtherMethodsKey(k, method))
                .OrderBy(k => k == MethodKey ? 0 : 1).ThenBy(k => k, StringComparer.Ordinal).ToList();
            return named.Count == 0 ? "all runs" : string.Join(", ", named.Select(k => $"{Short(k)}={r.Config.GetValueOrDefault(k, "(unset)")}"));
        }
        return runs.GroupBy(Name).Select(g => new Variant(g.Key, g.OrderBy(r => r.Seed, StringComparer.Ordinal).ToList())).ToList();
    }

    private const string MethodKey = "fedactors.method";

    /// <summary>
    /// A key that only other methods than <paramref name="method"/> declare (<see cref="MethodRegistry.Default"/>):
    /// runs of <paramref name="method"/> are not told apart by it.
    /// </summary>
    private static bool IsOtherMethodsKey(string key, string method) =>
        MethodRegistry.Default.Keys.Any(k => MethodConfig.FullKey(k) == key) && MethodRegistry.Default.Find(method)?.Keys.Any(k => MethodConfig.FullKey(k) == key) != true;

    private static string Short(string key) => key.StartsWith("fedactors.", StringComparison.Ordinal) ? key["fedactors.".Length..] : key;

    /// <summary>Mean and sample standard deviation (0 for one value) of the finite values.</summary>
    public static (double Mean, double Std, int Count) MeanStd(IEnumerable<double> values)
    {
        var v = values.Where(double.IsFinite).ToList();
        if (v.Count == 0) return (double.NaN, double.NaN, 0);
        var mean = v.Average();
        var std = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Count - 1)) : 0;
        return (mean, std, v.Count);
    }

    private const string FractionAxis = "label_fraction", VolumesAxis = "labelled_volumes";

    /// <summary>evaluation.csv's <c>encoder</c> of a row: <c>final</c> where the column is absent (runs before the random-init baseline).</summary>
    private static string EncoderOf(IReadOnlyDictionary<string, string> row) => row.GetValueOrDefault("encoder", "final");

    /// <summary>evaluation.csv's <c>split</c> of a row: <c>test</c> where the column is absent (runs before the site-shifted split).</summary>
    private static string SplitOf(IReadOnlyDictionary<string, string> row) => row.GetValueOrDefault("split", "test");

    private const string MajorityProtocol = "majority-class", RandomInitEncoder = "random-init";

    /// <summary>
    /// The report's markdown: per metric, a table of each variant's figures (mean ± std over seeds) with traffic and time,
    /// then every run (unfinished ones named) and the configuration the runs share.
    /// </summary>
    /// <param name="title">The report's heading.</param>
    /// <param name="runs">The runs to compare, finished or not.</param>
    /// <param name="command">The command line that made the report, quoted in it.</param>
    /// <param name="metric">
    /// Null: chosen from what the runs have (<see cref="DefaultMetric"/>). An evaluation.csv figure (accuracy, balanced_accuracy) or, for runs without one, a metrics.csv column of the last
    /// evaluated round; several, comma-separated, give a table each. One that no run has is a <see cref="ConfigError"/> naming those they have.
    /// </param>
    public static string Markdown(string title, IReadOnlyList<ReportedRun> runs, string? metric, string command)
    {
        if (!runs.Any(r => r.Finished))
            throw new ConfigError("report: none of the runs given has finished." +
                                  (runs.Any(r => r.Failure is not null) ? $" Failed: {string.Join("; ", runs.Where(r => r.Failure is not null).Select(r => $"{r.Directory} ({r.Failure})"))}." : ""));
        metric ??= DefaultMetric(runs);
        var metrics = metric.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (metrics.Length == 0) throw new ConfigError("report: --metric names no figure.");
        var available = Metrics(runs);
        foreach (var m in metrics.Where(m => !available.Contains(m)))
            throw new ConfigError($"report: --metric {m}: not a figure of these runs' " +
                                  $"{(runs.Any(r => r.Finished && r.Evaluation.Count > 0) ? RunDirectory.EvaluationFile : RunDirectory.MetricsFile)}; they have {string.Join(", ", available)}.");
        var variants = Group(runs.Where(r => r.Finished).ToList());
        var failed = runs.Where(r => !r.Finished && r.Failure is not null).ToList();
        var unfinished = runs.Where(r => !r.Finished && r.Failure is null).ToList();
        // Classification runs are judged per label fraction, segmentation runs per labelled volumes per hospital.
        var axis = runs.SelectMany(r => r.Evaluation).Select(e => e.ContainsKey(FractionAxis) ? FractionAxis : VolumesAxis).FirstOrDefault() ?? FractionAxis;
        var figures = runs.SelectMany(r => r.Evaluation).Where(e => e.ContainsKey(axis) && e["protocol"] != MajorityProtocol).Select(e => (Protocol: e["protocol"], Fraction: e[axis])).Distinct()
            .OrderBy(f => f.Protocol, StringComparer.Ordinal).ThenBy(f => double.Parse(f.Fraction, CultureInfo.InvariantCulture)).ToList();
        // The test split first, then the others (the site-shifted test), each a table of its own.
        var splits = runs.SelectMany(r => r.Evaluation).Select(SplitOf).Append("test").Distinct().OrderBy(x => x == "test" ? 0 : 1).ThenBy(x => x, StringComparer.Ordinal).ToList();
        var localSteps = variants.SelectMany(v => v.Runs).Any(r => r.Rounds.Any(x => x.ContainsKey("local_steps")));
        // A method trained on every label (the global classifier) is named by its protocol alone.
        var allLabels = figures.All(f => f.Fraction == "1");
        string FigureName((string Protocol, string Fraction) f) =>
            axis == VolumesAxis ? $"{f.Protocol} N={f.Fraction}" : allLabels ? f.Protocol : $"{f.Protocol} {Percent(f.Fraction)}";
        var md = new StringBuilder();
        md.AppendLine($"# {title}").AppendLine();
        md.AppendLine($"Generated by `{command}` from {runs.Count} run director{(runs.Count == 1 ? "y" : "ies")}. ")
            .AppendLine($"Figures: {(figures.Count > 0 ? $"{metrics[0]} on the test split (evaluation.csv)" : $"{metrics[0]} after the last evaluated round (metrics.csv)")}, " +
                        "mean ± sample std over seeds (one seed: its value, marked n = 1); round seconds: the mean wall-clock seconds of a round." + (splits.Count > 1 ? $" Further tables: each metric on the {string.Join(", ", splits.Skip(1))} split." : "") +
                        (localSteps ? " Local steps: the local optimiser steps of the accepted updates, summed over hospitals and rounds (metrics.csv)." : "")).AppendLine();

        foreach (var (table, i) in metrics.SelectMany(m => splits.Select(split => (Metric: m, Split: split))).Select((t, i) => (t, i)))
        {
            var (m, split) = table;
            // The first table carries traffic, time and local steps; each further metric or split gets a table of its figures alone.
            if (i > 0) md.AppendLine().AppendLine(split == "test" ? $"{m}:" : $"{m}, {split} split:").AppendLine();
            var header = new List<string> { "variant", "seeds" };
            header.AddRange(figures.Count > 0 ? figures.Select(FigureName) : [m]);
            if (i == 0) header.AddRange(["MB up / round", "MB down / round", "round seconds"]);
            if (i == 0 && localSteps) header.Add("local steps");
            md.AppendLine("| " + string.Join(" | ", header) + " |");
            md.AppendLine("|" + string.Concat(header.Select(_ => "---|")));
            double Figure(ReportedRun r, (string Protocol, string Fraction) f, string encoder) =>
                r.Evaluation.Where(e => e["protocol"] == f.Protocol && e.GetValueOrDefault(axis) == f.Fraction && EncoderOf(e) == encoder && SplitOf(e) == split)
                    .Select(e => r.Number(e, m)).DefaultIfEmpty(double.NaN).First();
            foreach (var variant in variants)
            {
                var row = new List<string> { variant.Name, string.Join(", ", variant.Runs.Select(r => r.Seed)) };
                if (figures.Count > 0)
                    row.AddRange(figures.Select(f => Format(MeanStd(variant.Runs.Select(r => Figure(r, f, "final"))), of: variant.Runs.Count)));
                else
                    row.Add(Format(MeanStd(variant.Runs.Select(r => r.Rounds.Select(x => r.Number(x, m)).LastOrDefault(double.IsFinite, double.NaN))), of: variant.Runs.Count));
                if (i == 0)
                {
                    row.Add(Format(MeanStd(variant.Runs.Select(r => r.Rounds.Average(x => r.Number(x, "bytes_up")) / 1e6)), "F3"));
                    row.Add(Format(MeanStd(variant.Runs.Select(r => r.Rounds.Average(x => r.Number(x, "bytes_down")) / 1e6)), "F3"));
                    row.Add(Format(MeanStd(variant.Runs.Select(r => r.Rounds.Average(x => r.Number(x, "wall_seconds")))), "F1"));
                    if (localSteps) row.Add(Format(MeanStd(variant.Runs.Select(r => r.Rounds.Sum(x => r.Number(x, "local_steps")))), "F0"));
                }
                md.AppendLine("| " + string.Join(" | ", row) + " |");
                // The random-init baseline: the same probe and fine-tuning on the run's initial (round-0) encoder.
                if (figures.Count > 0 && variant.Runs.Any(r => r.Evaluation.Any(e => EncoderOf(e) == RandomInitEncoder)))
                    md.AppendLine("| " + string.Join(" | ", figures.Select(f => Format(MeanStd(variant.Runs.Select(r => Figure(r, f, RandomInitEncoder))), of: variant.Runs.Count))
                        .Prepend(string.Join(", ", variant.Runs.Select(r => r.Seed))).Prepend($"{variant.Name}: random-init encoder")
                        .Concat(header.Skip(2 + figures.Count).Select(_ => ""))) + " |");
            }
            // The majority-class baseline: always predicting the labelled set's most frequent class, at each label fraction.
            var finished = variants.SelectMany(v => v.Runs).ToList();
            if (figures.Count > 0 && finished.Any(r => r.Evaluation.Any(e => e["protocol"] == MajorityProtocol)))
                md.AppendLine("| " + string.Join(" | ", figures.Select(f => Format(MeanStd(finished.Select(r =>
                        r.Evaluation.Where(e => e["protocol"] == MajorityProtocol && e.GetValueOrDefault(axis) == f.Fraction && SplitOf(e) == split)
                            .Select(e => r.Number(e, m)).DefaultIfEmpty(double.NaN).First())), of: finished.Count))
                    .Prepend(string.Join(", ", finished.Select(r => r.Seed).Distinct().Order(StringComparer.Ordinal))).Prepend("majority class (baseline)")
                    .Concat(header.Skip(2 + figures.Count).Select(_ => ""))) + " |");
        }

        var kinds = variants.SelectMany(v => v.Runs).SelectMany(r => r.Traffic).Select(t => (Direction: t["direction"], Kind: t["kind"])).Distinct()
            .OrderBy(k => k.Direction == "up" ? 0 : 1).ThenBy(k => k.Kind, StringComparer.Ordinal).ToList();
        if (kinds.Count > 0)
        {
            // What each method moves, by payload kind: MB per round (all hospitals), mean ± std over seeds.
            md.AppendLine().AppendLine("Traffic per round by payload kind, MB summed over hospitals (traffic.csv):").AppendLine();
            var header = new List<string> { "variant" };
            header.AddRange(kinds.Select(k => $"{k.Direction} {k.Kind}"));
            md.AppendLine("| " + string.Join(" | ", header) + " |").AppendLine("|" + string.Concat(header.Select(_ => "---|")));
            foreach (var variant in variants)
                md.AppendLine("| " + string.Join(" | ", kinds.Select(k => Format(MeanStd(variant.Runs.Select(r =>
                        r.Traffic.Where(t => t["direction"] == k.Direction && t["kind"] == k.Kind).Sum(t => r.Number(t, "bytes")) / Math.Max(1, r.Rounds.Count) / 1e6)), "F3"))
                    .Prepend(variant.Name)) + " |");
        }

        // One figure per run (the global classifier): each hospital's own, from the columns <metric>_<hospital>.
        var perSite = figures.Count == 1
            ? runs.SelectMany(r => r.Evaluation).SelectMany(e => e.Keys).Where(k => k.StartsWith(metrics[0] + "_hospital-", StringComparison.Ordinal))
                .Distinct().Order(StringComparer.Ordinal).ToList()
            : [];
        if (perSite.Count > 0)
        {
            md.AppendLine().AppendLine($"{metrics[0]} on each hospital's own test images, at the same round:").AppendLine();
            var header = new List<string> { "variant" };
            header.AddRange(perSite.Select(k => k[(metrics[0].Length + 1)..]));
            md.AppendLine("| " + string.Join(" | ", header) + " |").AppendLine("|" + string.Concat(header.Select(_ => "---|")));
            foreach (var variant in variants)
                md.AppendLine("| " + string.Join(" | ", perSite.Select(k => Format(MeanStd(variant.Runs.Select(r =>
                    r.Evaluation.Select(e => r.Number(e, k)).DefaultIfEmpty(double.NaN).First())), of: variant.Runs.Count)).Prepend(variant.Name)) + " |");
        }
        AggregationTables(md, variants);

        if (unfinished.Count > 0)
            md.AppendLine().AppendLine($"Left out, unfinished (no {RunDirectory.FinalWeightsFile}): {string.Join(", ", unfinished.Select(r => $"`{r.Directory}`"))}.");
        if (failed.Count > 0)
            md.AppendLine().AppendLine($"Left out, failed ({RunStatus.FailedFile}): {string.Join("; ", failed.Select(r => $"`{r.Directory}`: {r.Failure}"))}.");
        md.AppendLine().AppendLine("## Runs").AppendLine();
        md.AppendLine("| variant | seed | rounds | round seconds | directory |").AppendLine("|---|---|---|---|---|");
        foreach (var variant in variants)
        foreach (var r in variant.Runs)
            md.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {variant.Name} | {r.Seed} | {r.Rounds.Count} | {r.Rounds.Average(x => r.Number(x, "wall_seconds")):F1} | `{r.Directory}` |"));

        var shared = runs[0].Config.Where(kv => !Incidental.Contains(kv.Key) && runs.All(r => r.Config.GetValueOrDefault(kv.Key) == kv.Value))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal);
        md.AppendLine().AppendLine("## Configuration the runs share").AppendLine().AppendLine("```hocon");
        foreach (var (key, value) in shared) md.AppendLine($"{key} = {value}");
        md.AppendLine("```");
        return md.ToString();
    }

    /// <summary>
    /// The weight each hospital's upload got (aggregation.csv), where some variant weighs by more than sample counts (its
    /// weights change from round to round): per variant, the mean over rounds; and, for each such variant, every round's.
    /// </summary>
    private static void AggregationTables(StringBuilder md, IReadOnlyList<Variant> variants)
    {
        var hospitals = variants.SelectMany(v => v.Runs).SelectMany(r => r.Aggregation).Select(a => a["hospital"]).Distinct().Order(StringComparer.Ordinal).ToList();
        if (hospitals.Count == 0) return;
        bool Changing(Variant v) => v.Runs.Any(r => hospitals.Any(h => r.Aggregation.Where(a => a["hospital"] == h).Select(a => a["weight"]).Distinct().Count() > 1));
        if (!variants.Any(Changing)) return; // every variant weighs by sample counts: nothing to compare
        double Weight(ReportedRun r, string hospital, string? round) =>
            r.Aggregation.Where(a => a["hospital"] == hospital && (round is null || a["round"] == round)).Select(a => r.Number(a, "weight")).DefaultIfEmpty(double.NaN).Average();
        md.AppendLine().AppendLine("Aggregation weight of each hospital, mean over rounds (aggregation.csv):").AppendLine();
        md.AppendLine("| variant | " + string.Join(" | ", hospitals) + " |").AppendLine("|---|" + string.Concat(hospitals.Select(_ => "---|")));
        foreach (var variant in variants)
            md.AppendLine("| " + string.Join(" | ", hospitals.Select(h => Format(MeanStd(variant.Runs.Select(r => Weight(r, h, null))), of: variant.Runs.Count)).Prepend(variant.Name)) + " |");
        foreach (var variant in variants)
        {
            var rounds = variant.Runs.SelectMany(r => r.Aggregation).Select(a => a["round"]).Distinct().OrderBy(x => int.Parse(x, CultureInfo.InvariantCulture)).ToList();
            if (!Changing(variant)) continue;
            md.AppendLine().AppendLine($"{variant.Name}: aggregation weight per round, mean over seeds:").AppendLine();
            md.AppendLine("| round | " + string.Join(" | ", hospitals) + " |").AppendLine("|---|" + string.Concat(hospitals.Select(_ => "---|")));
            foreach (var round in rounds)
                md.AppendLine($"| {round} | " + string.Join(" | ", hospitals.Select(h =>
                    MeanStd(variant.Runs.Select(r => Weight(r, h, round))) is var (mean, _, count) && count > 0 ? mean.ToString("F3", CultureInfo.InvariantCulture) : "–")) + " |");
        }
    }

    /// <summary>The comparison plot: each variant's <paramref name="column"/> per round (mean over its seeds, rounds all of them evaluated).</summary>
    /// <param name="file">The PNG file written.</param>
    /// <param name="runs">The runs; unfinished ones are left out.</param>
    /// <param name="column">The per-round column plotted, e.g. <c>probe_accuracy</c>.</param>
    /// <param name="fromClassifier">Read <paramref name="column"/> from classifier.csv (every round's global classifier) rather than metrics.csv.</param>
    /// <returns>False, and nothing written, if no variant has a round where all its runs have a value.</returns>
    public static bool WritePlot(string file, IReadOnlyList<ReportedRun> runs, string column, bool fromClassifier = false)
    {
        IReadOnlyList<IReadOnlyDictionary<string, string>> RowsOf(ReportedRun r) => fromClassifier ? r.ClassifierRounds : r.Rounds;
        var series = Group(runs.Where(r => r.Finished).ToList()).Select(v =>
        {
            var rounds = v.Runs.Select(r => RowsOf(r).Where(x => double.IsFinite(r.Number(x, column))).Select(x => r.Number(x, "round")).ToHashSet())
                .Aggregate((a, b) => a.Intersect(b).ToHashSet()).Order().ToArray();
            var means = rounds.Select(round => v.Runs.Average(r => r.Number(RowsOf(r).First(x => r.Number(x, "round") == round), column))).ToArray();
            return (v.Name, rounds, means);
        }).Where(s => s.rounds.Length > 0).ToList();
        if (series.Count == 0) return false;
        Runs.RunPlots.Lines(file, $"{column.Replace('_', ' ')} per round (mean over seeds)", "round", column.Replace('_', ' '), series);
        return true;
    }

    /// <summary>Columns of evaluation.csv and metrics.csv that are not figures.</summary>
    private static readonly HashSet<string> NotFigures =
    [
        "protocol", "encoder", "split", FractionAxis, VolumesAxis, "labelled", "selected_step", "step_budget", "skipped", "local_steps",
        "round", "not_aggregated", "global_hash",
    ];

    /// <summary>
    /// The figures <paramref name="runs"/> have, for <c>--metric</c>: evaluation.csv's figure columns where the finished runs wrote one,
    /// else the metrics.csv columns holding a number in some round.
    /// </summary>
    /// <param name="runs">The runs of a report; only the finished ones count.</param>
    public static IReadOnlyList<string> Metrics(IReadOnlyList<ReportedRun> runs)
    {
        var finished = runs.Where(r => r.Finished).ToList();
        var evaluation = finished.SelectMany(r => r.Evaluation).ToList();
        if (evaluation.Count > 0)
            return evaluation.SelectMany(e => e.Keys).Where(k => !NotFigures.Contains(k) && !k.Contains("_hospital-", StringComparison.Ordinal)).Distinct().ToList();
        return finished.SelectMany(r => r.Rounds.SelectMany(x => x.Keys.Where(k => double.IsFinite(r.Number(x, k)))))
            .Where(k => !NotFigures.Contains(k)).Distinct().ToList();
    }

    /// <summary>
    /// The figure a report shows when <c>--metric</c> is not given, from what the runs have: evaluation.csv's <c>accuracy</c>
    /// (else its first figure, e.g. <c>dice</c>), else metrics.csv's <c>probe_accuracy</c>, else <c>mean_loss</c>.
    /// </summary>
    /// <param name="runs">The runs of a report.</param>
    public static string DefaultMetric(IReadOnlyList<ReportedRun> runs)
    {
        var available = Metrics(runs);
        return new[] { "accuracy", EvaluationKeys.ProbeAccuracy, "mean_loss" }.FirstOrDefault(available.Contains)
               ?? available.FirstOrDefault() ?? "accuracy";
    }

    private static string Percent(string fraction) =>
        (double.Parse(fraction, CultureInfo.InvariantCulture) * 100).ToString("G4", CultureInfo.InvariantCulture) + " %";

    /// <param name="s">The mean, sample standard deviation and number of values; none gives <c>–</c>.</param>
    /// <param name="format">The numeric format of mean and std.</param>
    /// <param name="of">The variant's seeds: a figure from fewer of them (a run that wrote no such result) says how many it has.</param>
    private static string Format((double Mean, double Std, int Count) s, string format = "F3", int of = 0) =>
        s.Count == 0 ? "–"
        // One value has no spread to show: no "± 0.000", which would read as zero variance.
        : s.Count == 1 ? s.Mean.ToString(format, CultureInfo.InvariantCulture) + (of > 1 ? $" (1 of {of} seeds)" : " (n = 1)")
        : s.Mean.ToString(format, CultureInfo.InvariantCulture) + " ± " + s.Std.ToString(format, CultureInfo.InvariantCulture) +
          (s.Count < of ? $" ({s.Count} of {of} seeds)" : "");
}
