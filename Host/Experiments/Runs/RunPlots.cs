using System.Globalization;
using System.Text.Json;
using FedActors.Actors.Protocol;
using ScottPlot;

namespace FedActors.Host.Runs;

/// <summary>
/// The run's PNG plots, drawn with ScottPlot from what the run directory already holds
/// (<c>metrics.csv</c>, <c>events.jsonl</c>), so any run directory can be plotted again:
/// evaluation figures per round, traffic per round, and participation per hospital per round.
/// </summary>
public static class RunPlots
{
    /// <summary>The run directory's subdirectory the plots are written to.</summary>
    public const string Directory = "plots";

    /// <summary>File name of the plot of the linear probe's accuracy and balanced accuracy per evaluated round.</summary>
    public const string Evaluation = "evaluation.png";

    /// <summary>File name of the plot of megabytes up and down per round.</summary>
    public const string Traffic = "traffic.png";

    /// <summary>
    /// File name of the participation plot: each hospital per round coloured by its outcome, or above
    /// <see cref="AggregateAbove"/> hospitals the count of hospitals per round by outcome (stacked bars).
    /// </summary>
    public const string Participation = "participation.png";

    /// <summary>Above this many hospitals, participation.png shows counts per round by outcome instead of one row per hospital.</summary>
    public const int AggregateAbove = 40;

    /// <summary>The plots' size in pixels.</summary>
    public const int Width = 900, Height = 500;

    /// <summary>The reference lines of the evaluation plot: the majority-class rate and the random-init encoder's probe accuracy (NaN: not drawn).</summary>
    /// <param name="MajorityClass">The probe's majority-class rate.</param>
    /// <param name="RandomInit">The probe accuracy of the run's initial (random) encoder.</param>
    public sealed record Baselines(double MajorityClass, double RandomInit);

    /// <summary>A hospital's outcome in a round, in legend order, with its colour: <c>not selected</c> first (the one-row-per-hospital view only).</summary>
    public static readonly IReadOnlyList<(string Outcome, string Colour)> Outcomes =
    [
        (NotSelected, "#dddddd"), (RunEventKinds.Accepted, "#2ca02c"), (RunEventKinds.Dropped, "#ff7f0e"), (RunEventKinds.Lost, "#d62728"),
        (RunEventKinds.Late, "#9467bd"), (RunEventKinds.Rejected, "#8c564b"), (RunEventKinds.Surplus, "#17becf"),
        (RunEventKinds.Selected, "#7f7f7f"), // selected, no outcome logged (a run stopped mid-round)
    ];

    /// <summary>The participation plot's label of a hospital a round did not select.</summary>
    public const string NotSelected = "not selected";

    /// <summary>Draws the run's plots into <c>RUN_DIR/plots/</c>; nothing is written for a run with no metrics row yet.</summary>
    /// <param name="runDirectory">The run directory whose metrics.csv and events.jsonl are read.</param>
    /// <param name="hospitalIds">Every hospital of the run, so one never selected still has its row; null: those the events name.</param>
    /// <param name="baselines">The evaluation plot's reference lines, where the run computed them; null: none.</param>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Write(string runDirectory, IReadOnlyList<string>? hospitalIds = null, Baselines? baselines = null)
    {
        var rows = MetricsRows(Path.Combine(runDirectory, RunDirectory.MetricsFile));
        if (rows.Count == 0) return [];
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(runDirectory, Directory)).FullName;
        var written = new List<string>();
        Save(EvaluationPlot(rows, baselines), Path.Combine(folder, Evaluation), written);
        Save(TrafficPlot(rows), Path.Combine(folder, Traffic), written);
        if (ParticipationPlot(Path.Combine(runDirectory, RunDirectory.EventsFile), rows.Count, hospitalIds) is { } participation)
            Save(participation, Path.Combine(folder, Participation), written);
        return written;
    }

    /// <summary>
    /// The linear probe's accuracy (solid, circles) and balanced accuracy (dashed, squares) per evaluated round, on a 0–1 axis
    /// with whole-number round ticks, and the <paramref name="baselines"/> as dotted horizontal lines.
    /// </summary>
    /// <param name="rows">metrics.csv's rows (<see cref="MetricsRows"/>).</param>
    /// <param name="baselines">The majority-class rate and the random-init encoder's accuracy; null or NaN: not drawn.</param>
    public static Plot EvaluationPlot(IReadOnlyList<Dictionary<string, double>> rows, Baselines? baselines = null)
    {
        var plot = new Plot();
        var styles = new[] { (Column: "probe_accuracy", Marker: MarkerShape.FilledCircle, Pattern: LinePattern.Solid, Colour: "#1f77b4"),
                             ("probe_balanced_accuracy", MarkerShape.FilledSquare, LinePattern.Dashed, "#ff7f0e") };
        foreach (var (column, marker, pattern, colour) in styles)
        {
            var points = rows.Where(r => double.IsFinite(r.GetValueOrDefault(column, double.NaN))).ToList();
            if (points.Count == 0) continue;
            var line = plot.Add.Scatter(points.Select(r => r["round"]).ToArray(), points.Select(r => r[column]).ToArray());
            (line.LegendText, line.MarkerShape, line.MarkerSize, line.LinePattern, line.LineWidth, line.Color) =
                (column.Replace('_', ' '), marker, 8, pattern, 2, Color.FromHex(colour));
        }
        foreach (var (value, name, colour) in new[] { (baselines?.MajorityClass ?? double.NaN, "majority class", "#555555"), (baselines?.RandomInit ?? double.NaN, "random-init encoder", "#d62728") })
        {
            if (!double.IsFinite(value)) continue;
            var line = plot.Add.HorizontalLine(value);
            (line.LegendText, line.LinePattern, line.LineWidth, line.Color) = (name, LinePattern.Dotted, 2, Color.FromHex(colour));
        }
        RoundAxis(plot, rows);
        plot.Axes.SetLimitsY(0, 1.05);
        Label(plot, "Linear probe of the global encoder", "round", "accuracy on the test split");
        return plot;
    }

    /// <summary>
    /// MB up (dashed, triangles, drawn over) and down (solid, circles) per round, from 0 to a little above the largest value,
    /// so flat traffic is a flat line and not an axis of ±0.0001 MB.
    /// </summary>
    /// <param name="rows">metrics.csv's rows (<see cref="MetricsRows"/>).</param>
    public static Plot TrafficPlot(IReadOnlyList<Dictionary<string, double>> rows)
    {
        var plot = new Plot();
        var rounds = rows.Select(r => r["round"]).ToArray();
        var downMb = rows.Select(r => r.GetValueOrDefault("bytes_down", double.NaN) / 1e6).ToArray();
        var upMb = rows.Select(r => r.GetValueOrDefault("bytes_up", double.NaN) / 1e6).ToArray();
        // Down first, so up is drawn on top of it where they coincide.
        var down = plot.Add.Scatter(rounds, downMb);
        (down.LegendText, down.MarkerShape, down.MarkerSize, down.LinePattern, down.LineWidth, down.Color) =
            ("down (server → hospitals)", MarkerShape.FilledCircle, 10, LinePattern.Solid, 3, Color.FromHex("#1f77b4"));
        var up = plot.Add.Scatter(rounds, upMb);
        (up.LegendText, up.MarkerShape, up.MarkerSize, up.LinePattern, up.LineWidth, up.Color) =
            ("up (hospitals → server)", MarkerShape.FilledTriangleUp, 7, LinePattern.Dashed, 2, Color.FromHex("#ff7f0e"));
        RoundAxis(plot, rows);
        var top = downMb.Concat(upMb).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        plot.Axes.SetLimitsY(0, top > 0 ? top * 1.15 : 1);
        Label(plot, "Traffic per round", "round", "MB");
        return plot;
    }

    /// <summary>
    /// Participation: up to <see cref="AggregateAbove"/> hospitals, one row per hospital and a cell per round coloured by its
    /// outcome (<see cref="Outcomes"/>); above, the number of hospitals per round by outcome as stacked bars. The legend names
    /// each outcome that occurs, in its colour. Null if no hospital is known.
    /// </summary>
    /// <param name="eventsFile">The run's events.jsonl.</param>
    /// <param name="rounds">The number of rounds (metrics.csv's rows).</param>
    /// <param name="hospitalIds">Every hospital of the run; null: those the events name.</param>
    public static Plot? ParticipationPlot(string eventsFile, int rounds, IReadOnlyList<string>? hospitalIds)
    {
        var outcomes = OutcomeMatrix(eventsFile, rounds, hospitalIds, out var hospitals);
        if (hospitals.Count == 0) return null;
        var plot = new Plot();
        var colours = Outcomes.ToDictionary(o => o.Outcome, o => Color.FromHex(o.Colour));
        var shown = new HashSet<string>();
        if (hospitals.Count <= AggregateAbove)
        {
            for (var h = 0; h < hospitals.Count; h++)
            for (var r = 0; r < rounds; r++)
            {
                var outcome = outcomes[h, r] ?? NotSelected;
                shown.Add(outcome);
                // Row h from the top: the first hospital on top.
                var y = hospitals.Count - 1 - h;
                var cell = plot.Add.Rectangle(r + 0.55, r + 1.45, y - 0.45, y + 0.45);
                cell.FillStyle.Color = colours[outcome];
                cell.LineStyle.Width = 0;
            }
            plot.Axes.Left.SetTicks(Enumerable.Range(0, hospitals.Count).Select(i => (double)(hospitals.Count - 1 - i)).ToArray(), hospitals.ToArray());
            plot.Axes.SetLimitsY(-0.6, hospitals.Count - 0.4);
            Label(plot, "Participation per hospital and round", "round", "");
        }
        else
        {
            var bars = new List<Bar>();
            for (var r = 0; r < rounds; r++)
            {
                double stacked = 0;
                foreach (var (outcome, _) in Outcomes.Where(o => o.Outcome != NotSelected))
                {
                    var count = Enumerable.Range(0, hospitals.Count).Count(h => outcomes[h, r] == outcome);
                    if (count == 0) continue;
                    shown.Add(outcome);
                    bars.Add(new Bar { Position = r + 1, ValueBase = stacked, Value = stacked + count, FillColor = colours[outcome], LineWidth = 0, Size = 0.8 });
                    stacked += count;
                }
            }
            plot.Add.Bars(bars);
            plot.Axes.SetLimitsY(0, Math.Max(1, bars.Select(b => b.Value).DefaultIfEmpty(0).Max()) * 1.1);
            Label(plot, $"Participation per round: selected hospitals by outcome, of {hospitals.Count}", "round", "hospitals");
        }
        RoundAxis(plot, Enumerable.Range(1, rounds).Select(r => new Dictionary<string, double> { ["round"] = r }).ToList());
        foreach (var (outcome, _) in Outcomes.Where(o => shown.Contains(o.Outcome)))
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = outcome, FillColor = colours[outcome] });
        plot.ShowLegend(Alignment.UpperRight);
        return plot;
    }

    /// <summary>Draws each series (name → points) as a line, each with its own marker and line style: the report's comparison of variants.</summary>
    public static void Lines(string file, string title, string x, string y, IEnumerable<(string Name, double[] X, double[] Y)> series)
    {
        var plot = new Plot();
        MarkerShape[] markers = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond, MarkerShape.OpenCircle];
        LinePattern[] patterns = [LinePattern.Solid, LinePattern.Dashed, LinePattern.Dotted, LinePattern.DenselyDashed];
        var i = 0;
        foreach (var (name, xs, ys) in series)
        {
            var line = plot.Add.Scatter(xs, ys);
            (line.LegendText, line.MarkerShape, line.MarkerSize, line.LinePattern, line.LineWidth) = (name, markers[i % markers.Length], 7, patterns[i / markers.Length % patterns.Length], 2);
            i++;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        Label(plot, title, x, y);
        Save(plot, file, []);
    }

    /// <summary>Whole-number round ticks (ScottPlot's automatic tick generator, integers only), rounds 1 … last with half a round either side.</summary>
    private static void RoundAxis(Plot plot, IReadOnlyList<Dictionary<string, double>> rows)
    {
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        var last = rows.Select(r => r["round"]).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        plot.Axes.SetLimitsX(0.5, last + 0.5);
    }

    private static void Label(Plot plot, string title, string x, string y)
    {
        if (plot.GetPlottables().Any(p => p.LegendItems.Any(l => !string.IsNullOrEmpty(l.LabelText)))) plot.ShowLegend(Alignment.LowerRight);
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
    }

    private static void Save(Plot plot, string file, List<string> written)
    {
        plot.SavePng(file, Width, Height);
        written.Add(file);
    }

    /// <summary>metrics.csv as numbers by column (empty cells NaN, text columns dropped).</summary>
    public static List<Dictionary<string, double>> MetricsRows(string file)
    {
        var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToList();
        if (lines.Count < 2) return [];
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First,
            p => double.TryParse(p.Second, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN)).ToList();
    }

    /// <summary>[hospital, round] (first hospital in the top row): 0 not selected, 1 selected but not aggregated, 2 aggregated.</summary>
    public static double[,] ParticipationMatrix(string eventsFile, int rounds, IReadOnlyList<string>? hospitalIds, out List<string> hospitals)
    {
        var outcomes = OutcomeMatrix(eventsFile, rounds, hospitalIds, out hospitals);
        var matrix = new double[hospitals.Count, rounds];
        for (var h = 0; h < hospitals.Count; h++)
        for (var r = 0; r < rounds; r++)
            matrix[h, r] = outcomes[h, r] switch { null => 0, RunEventKinds.Accepted => 2, _ => 1 };
        return matrix;
    }

    /// <summary>
    /// [hospital, round] (hospitals in id order): the outcome of each hospital a round selected (accepted, dropped, lost, late,
    /// rejected, surplus; <c>selected</c> if none was logged; a later attempt's outcome replaces an earlier one's), null where
    /// the round did not select it.
    /// </summary>
    /// <param name="eventsFile">The run's events.jsonl; missing: no events.</param>
    /// <param name="rounds">The number of rounds; events of later rounds are ignored.</param>
    /// <param name="hospitalIds">Every hospital of the run (one never selected has its row); null: those the events name.</param>
    /// <param name="hospitals">The hospitals, in ordinal order of their ids (zero-padded ids sort as numbers).</param>
    public static string?[,] OutcomeMatrix(string eventsFile, int rounds, IReadOnlyList<string>? hospitalIds, out List<string> hospitals)
    {
        var seen = new List<(int Round, string Hospital, string Kind)>();
        if (File.Exists(eventsFile))
            foreach (var line in File.ReadLines(eventsFile).Where(l => l.Length > 0))
            {
                using var json = JsonDocument.Parse(line);
                var e = json.RootElement;
                if (e.GetProperty("hospital").GetString() is { } hospital)
                    seen.Add((e.GetProperty("round").GetInt32(), hospital, e.GetProperty("kind").GetString()!));
            }
        hospitals = (hospitalIds ?? []).Concat(seen.Select(s => s.Hospital)).Distinct().Order(StringComparer.Ordinal).ToList();
        var matrix = new string?[hospitals.Count, rounds];
        var row = hospitals.Select((h, i) => (h, i)).ToDictionary(x => x.h, x => x.i);
        var kinds = Outcomes.Select(o => o.Outcome).ToHashSet();
        foreach (var (round, hospital, kind) in seen.Where(s => s.Round >= 1 && s.Round <= rounds && kinds.Contains(s.Kind)))
        {
            ref var cell = ref matrix[row[hospital], round - 1];
            // "selected" opens an attempt; its outcome closes it.
            if (kind != RunEventKinds.Selected || cell is null) cell = kind;
        }
        return matrix;
    }
}
