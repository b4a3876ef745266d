using System.Globalization;
using System.Text.Json;
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

    /// <summary>File name of the heat map of each hospital per round: not selected, selected but not aggregated, or aggregated.</summary>
    public const string Participation = "participation.png";
    private const int Width = 900, Height = 500;

    /// <summary>Draws the run's plots into <c>RUN_DIR/plots/</c>; nothing is written for a run with no metrics row yet.</summary>
    /// <param name="runDirectory">The run directory whose metrics.csv and events.jsonl are read.</param>
    /// <param name="hospitalIds">Every hospital of the run, so one never selected still has its row; null: those the events name.</param>
    /// <returns>The files written.</returns>
    public static IReadOnlyList<string> Write(string runDirectory, IReadOnlyList<string>? hospitalIds = null)
    {
        var rows = MetricsRows(Path.Combine(runDirectory, RunDirectory.MetricsFile));
        if (rows.Count == 0) return [];
        var folder = System.IO.Directory.CreateDirectory(Path.Combine(runDirectory, Directory)).FullName;
        var written = new List<string>();
        var rounds = rows.Select(r => r["round"]).ToArray();

        var evaluation = new Plot();
        foreach (var column in new[] { "probe_accuracy", "probe_balanced_accuracy" })
        {
            var points = rows.Where(r => double.IsFinite(r[column])).ToList();
            if (points.Count == 0) continue;
            var line = evaluation.Add.Scatter(points.Select(r => r["round"]).ToArray(), points.Select(r => r[column]).ToArray());
            line.LegendText = column.Replace('_', ' ');
        }
        Save(evaluation, "Linear probe of the global encoder", "round", "test split", Path.Combine(folder, Evaluation), written);

        var traffic = new Plot();
        var up = traffic.Add.Scatter(rounds, rows.Select(r => r["bytes_up"] / 1e6).ToArray());
        up.LegendText = "up (hospitals → server)";
        var down = traffic.Add.Scatter(rounds, rows.Select(r => r["bytes_down"] / 1e6).ToArray());
        down.LegendText = "down (server → hospitals)";
        Save(traffic, "Traffic per round", "round", "MB", Path.Combine(folder, Traffic), written);

        var participation = ParticipationMatrix(Path.Combine(runDirectory, RunDirectory.EventsFile), rows.Count, hospitalIds, out var hospitals);
        if (hospitals.Count > 0)
        {
            var map = new Plot();
            var heat = map.Add.Heatmap(participation);
            heat.Colormap = new ScottPlot.Colormaps.Viridis();
            heat.ManualRange = new ScottPlot.Range(0, 2);
            map.Add.ColorBar(heat).Label = "0 not selected, 1 not aggregated, 2 aggregated";
            // ScottPlot centres cell [i, j] on x = j, y = rows − 1 − i: the first hospital on top.
            map.Axes.Left.SetTicks(Enumerable.Range(0, hospitals.Count).Select(i => (double)(hospitals.Count - 1 - i)).ToArray(), hospitals.ToArray());
            map.Axes.Bottom.SetTicks(Enumerable.Range(0, rows.Count).Select(j => (double)j).ToArray(),
                rounds.Select(r => r.ToString(CultureInfo.InvariantCulture)).ToArray());
            Save(map, "Participation per hospital and round", "round", "", Path.Combine(folder, Participation), written);
        }
        return written;
    }

    /// <summary>Draws each series (name → points) as a line: the report's comparison of variants.</summary>
    public static void Lines(string file, string title, string x, string y, IEnumerable<(string Name, double[] X, double[] Y)> series)
    {
        var plot = new Plot();
        foreach (var (name, xs, ys) in series)
        {
            var line = plot.Add.Scatter(xs, ys);
            line.LegendText = name;
        }
        Save(plot, title, x, y, file, []);
    }

    private static void Save(Plot plot, string title, string x, string y, string file, List<string> written)
    {
        if (plot.GetPlottables().Any(p => p is ScottPlot.Plottables.Scatter)) plot.ShowLegend(Alignment.LowerRight);
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
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
        var matrix = new double[hospitals.Count, rounds];
        var row = hospitals.Select((h, i) => (h, i)).ToDictionary(x => x.h, x => x.i);
        foreach (var (round, hospital, kind) in seen.Where(s => s.Round >= 1 && s.Round <= rounds))
        {
            var value = kind == "accepted" ? 2 : kind == "selected" ? 1 : 0;
            ref var cell = ref matrix[row[hospital], round - 1];
            cell = Math.Max(cell, value);
        }
        return matrix;
    }
}
