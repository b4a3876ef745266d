using System.Globalization;
using System.Text;
using FedActors.Host.Runs;

namespace FedActors.Host.Reports;

/// <summary>
/// Report sections of the Fed-MAS experiments, each added only where the runs have what it shows: how long each run
/// trained against the plateau rule (classifier.csv), whether the first variant's test figure differs from each other
/// variant's (Welch's t-test over seeds), and each hospital's robust factor and aggregation weight per round
/// (aggregation.csv's <c>robust_factor</c>), with a plot.
/// </summary>
public static class FedMasSections
{
    private static string F(double v) => double.IsNaN(v) ? "–" : v.ToString("F3", CultureInfo.InvariantCulture);

    private static int Int(string s) => int.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>
    /// Per run: rounds run, the round chosen on validation, the plateau rule's last gain and stop round (or "not reached");
    /// null when no run has classifier.csv.
    /// </summary>
    /// <param name="runs">The finished runs.</param>
    /// <param name="epsilon">The rule's ε.</param>
    /// <param name="patience">The rule's k.</param>
    public static string? TrainingLength(IReadOnlyList<ReportedRun> runs, double epsilon, int patience)
    {
        var variants = RunReport.Group(runs).Where(v => v.Runs.Any(r => r.ClassifierRounds.Count > 0)).ToList();
        if (variants.Count == 0) return null;
        var md = new StringBuilder();
        md.AppendLine(FormattableString.Invariant(
            $"Training length. Plateau rule: validation balanced accuracy (classifier.csv) has not beaten its best so far by more than ε = {epsilon:G3} for k = {patience} rounds; the stop round is the last gain + k. Every method ran the same number of rounds (the same local optimiser steps); the figures above are at the round chosen on validation."))
            .AppendLine().AppendLine("| variant | seed | rounds run | round chosen on validation | last gain > ε | plateau (stop) round |").AppendLine("|---|---|---|---|---|---|");
        foreach (var variant in variants)
        foreach (var run in variant.Runs.Where(r => r.ClassifierRounds.Count > 0))
        {
            var series = run.ClassifierRounds.Select(r => (Int(r["round"]), run.Number(r, "validation_balanced_accuracy"))).OrderBy(x => x.Item1).ToList();
            var plateau = PlateauRule.Find(series, epsilon, patience);
            var chosen = run.Evaluation.FirstOrDefault()?.GetValueOrDefault("round") ?? "–";
            md.AppendLine($"| {variant.Name} | {run.Seed} | {series.Count} | {chosen} | {plateau.LastGain} | {(plateau.StopRound is { } s ? s.ToString(CultureInfo.InvariantCulture) : "not reached")} |");
        }
        return md.ToString();
    }

    /// <summary>
    /// The first variant's test balanced accuracy (evaluation.csv) against each other variant's: mean difference, Welch's t,
    /// degrees of freedom, two-sided p, and "differs" when p &lt; 0.05; null with fewer than two variants of 2 seeds or more.
    /// </summary>
    /// <param name="runs">The finished runs; the first variant (in the runs' order) is the one compared.</param>
    /// <param name="metric">evaluation.csv's column, e.g. <c>balanced_accuracy</c>.</param>
    public static string? Comparison(IReadOnlyList<ReportedRun> runs, string metric)
    {
        var values = RunReport.Group(runs).Select(v => (v.Name, Values: v.Runs.Where(r => r.Evaluation.Count > 0)
            .Select(r => r.Number(r.Evaluation[0], metric)).Where(x => !double.IsNaN(x)).ToList())).ToList();
        if (values.Count < 2 || values[0].Values.Count < 2 || values.Skip(1).All(v => v.Values.Count < 2)) return null;
        var md = new StringBuilder();
        md.AppendLine($"{values[0].Name} against each other variant, test {metric} over seeds. Test: Welch's t (unequal variances), two-sided; \"differs\" means p < 0.05. With few seeds the test has little power: \"no\" is not evidence of equality.")
            .AppendLine().AppendLine("| other variant | seeds (first, other) | difference of means | t | df | p | differs |").AppendLine("|---|---|---|---|---|---|---|");
        foreach (var (name, other) in values.Skip(1).Where(v => v.Values.Count >= 2))
        {
            var w = WelchTest.Compare(values[0].Values, other);
            md.AppendLine(FormattableString.Invariant(
                $"| {name} | {values[0].Values.Count}, {other.Count} | {w.Difference:+0.000;-0.000} | {w.T:F2} | {w.DegreesOfFreedom:F1} | {w.P:F3} | {(w.Differs() ? "yes" : "no")} |"));
        }
        return md.ToString();
    }

    /// <summary>
    /// For each variant whose aggregation.csv has a <c>robust_factor</c>: per round, each hospital's robust factor and
    /// aggregation weight, mean over seeds ("RF / weight"); null when no run logged one.
    /// </summary>
    /// <param name="runs">The finished runs.</param>
    public static string? RobustFactors(IReadOnlyList<ReportedRun> runs)
    {
        var variants = RunReport.Group(runs).Where(HasFactors).ToList();
        if (variants.Count == 0) return null;
        var md = new StringBuilder();
        foreach (var variant in variants)
        {
            var rows = variant.Runs.SelectMany(r => r.Aggregation.Select(a => (Run: r, Row: a))).ToList();
            var hospitals = rows.Select(x => x.Row["hospital"]).Distinct().Order(StringComparer.Ordinal).ToList();
            md.AppendLine($"{variant.Name}: robust factor / aggregation weight of each hospital per round, mean over seeds (aggregation.csv):").AppendLine()
                .AppendLine("| round | " + string.Join(" | ", hospitals) + " | Σ weight |").AppendLine("|---" + string.Concat(Enumerable.Repeat("|---", hospitals.Count + 1)) + "|");
            foreach (var round in rows.GroupBy(x => Int(x.Row["round"])).OrderBy(g => g.Key))
            {
                double Mean(string hospital, string column) => round.Where(x => x.Row["hospital"] == hospital).Select(x => x.Run.Number(x.Row, column)).DefaultIfEmpty(double.NaN).Average();
                var sum = round.GroupBy(x => x.Run.Directory).Select(g => g.Sum(x => x.Run.Number(x.Row, "weight"))).Average();
                md.AppendLine($"| {round.Key} | " + string.Join(" | ", hospitals.Select(h => $"{F(Mean(h, "robust_factor"))} / {F(Mean(h, "weight"))}")) + $" | {F(sum)} |");
            }
            md.AppendLine();
        }
        return md.ToString();
    }

    /// <summary>Plots each hospital's robust factor per round (mean over seeds) of the first variant that logged one; false when none did.</summary>
    /// <param name="file">The PNG written.</param>
    /// <param name="runs">The finished runs.</param>
    /// <param name="column"><c>robust_factor</c> or <c>weight</c>.</param>
    public static bool WritePlot(string file, IReadOnlyList<ReportedRun> runs, string column = "robust_factor")
    {
        var variant = RunReport.Group(runs).FirstOrDefault(HasFactors);
        if (variant is null) return false;
        var rows = variant.Runs.SelectMany(r => r.Aggregation.Select(a => (Run: r, Row: a))).ToList();
        var series = rows.GroupBy(x => x.Row["hospital"]).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g =>
        {
            var byRound = g.GroupBy(x => Int(x.Row["round"])).OrderBy(r => r.Key).ToList();
            return (g.Key, byRound.Select(r => (double)r.Key).ToArray(), byRound.Select(r => r.Average(x => x.Run.Number(x.Row, column))).ToArray());
        }).ToList();
        RunPlots.Lines(file, $"{variant.Name}: {column.Replace('_', ' ')} per hospital", "round", $"{column.Replace('_', ' ')} (mean over seeds)", series);
        return true;
    }

    private static bool HasFactors(RunReport.Variant v) =>
        v.Runs.Any(r => r.Aggregation.Any(a => a.TryGetValue("robust_factor", out var f) && f.Length > 0));
}
