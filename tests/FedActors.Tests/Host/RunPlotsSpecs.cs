using FedActors.Host.Runs;
using FedActors.Training.Experiments;
using ScottPlot;

namespace FedActors.Tests.Host;

/// <summary>The run's plots as a user reads them (issue 26): series, styles, legends, round ticks, axes, 320 hospitals.</summary>
public sealed class RunPlotsSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fedactors-plots-").FullName;

    private static List<Dictionary<string, double>> Rows(int rounds, Func<int, double> probe) =>
        Enumerable.Range(1, rounds).Select(r => new Dictionary<string, double>
        {
            ["round"] = r, ["bytes_up"] = 1_000_000, ["bytes_down"] = 1_000_000, ["probe_accuracy"] = probe(r), ["probe_balanced_accuracy"] = probe(r) / 2,
        }).ToList();

    /// <summary>Renders the plot as it is saved, so its tick generators have run, and returns the bottom axis' tick positions.</summary>
    private static double[] RoundTicks(Plot plot)
    {
        plot.GetImage(RunPlots.Width, RunPlots.Height);
        return plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).ToArray();
    }

    [Fact]
    public void Should_draw_evaluation_as_two_styled_series_with_both_baselines_and_whole_round_ticks()
    {
        // 12 rounds probed every 4th: a few points over a wide x range, where automatic ticks would be fractional.
        var plot = RunPlots.EvaluationPlot(Rows(3, r => 0.6 + 0.05 * r), new RunPlots.Baselines(0.25, 0.497));

        var series = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(["probe accuracy", "probe balanced accuracy"], series.Select(s => s.LegendText));
        Assert.NotEqual(series[0].MarkerShape, series[1].MarkerShape);
        Assert.NotEqual(series[0].LinePattern, series[1].LinePattern);
        var lines = plot.GetPlottables().OfType<ScottPlot.Plottables.HorizontalLine>().ToList();
        Assert.Equal([(0.25, "majority class"), (0.497, "random-init encoder")], lines.Select(l => (l.Y, l.LegendText)));
        var ticks = RoundTicks(plot);
        Assert.NotEmpty(ticks);
        Assert.All(ticks, t => Assert.Equal(Math.Round(t), t));
        Assert.All(ticks, t => Assert.InRange(t, 1, 3));
    }

    [Fact]
    public void Should_give_a_single_evaluated_point_the_whole_accuracy_range()
    {
        var rows = Rows(1, _ => 0.7);

        var plot = RunPlots.EvaluationPlot(rows);
        RoundTicks(plot);

        var limits = plot.Axes.GetLimits();
        Assert.Equal((0, 1.05), (limits.Bottom, limits.Top));
        Assert.Equal((0.5, 1.5), (limits.Left, limits.Right));
    }

    [Fact]
    public void Should_show_upload_over_download_and_a_zero_based_axis_for_flat_traffic()
    {
        // Up and down are the same 1 MB every round: a flat line each, one over the other.
        var plot = RunPlots.TrafficPlot(Rows(5, _ => double.NaN));
        var ticks = plot.Axes.Left;
        RoundTicks(plot);

        var series = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(["down (server → hospitals)", "up (hospitals → server)"], series.Select(s => s.LegendText)); // up drawn last, on top
        Assert.NotEqual(series[0].MarkerShape, series[1].MarkerShape);
        Assert.NotEqual(series[0].LinePattern, series[1].LinePattern);
        Assert.NotEqual(series[0].Color, series[1].Color);
        var limits = plot.Axes.GetLimits();
        Assert.Equal(0, limits.Bottom);
        Assert.Equal(1.15, limits.Top, 9);
        // No ±0.0001 MB autoscale: ticks at least 0.1 MB apart.
        var left = ticks.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Position).Order().ToArray();
        Assert.True(left.Length >= 2, "too few MB ticks");
        Assert.All(left.Zip(left.Skip(1)), p => Assert.True(p.Second - p.First >= 0.1 - 1e-9, $"MB ticks {p.First} and {p.Second}"));
    }

    private string Events(int hospitals, int rounds, Func<int, int, string?> outcome)
    {
        var file = Path.Combine(_root, $"events-{hospitals}.jsonl");
        var lines = new List<string>();
        for (var r = 1; r <= rounds; r++)
        for (var h = 0; h < hospitals; h++)
        {
            if (outcome(h, r) is not { } kind) continue;
            var id = ExperimentSettings.HospitalIdOf(h, hospitals);
            lines.Add($$"""{"round":{{r}},"attempt":1,"kind":"selected","hospital":"{{id}}","reason":"selected","sim_s":0}""");
            lines.Add($$"""{"round":{{r}},"attempt":1,"kind":"{{kind}}","hospital":"{{id}}","reason":"","sim_s":1}""");
        }
        File.WriteAllLines(file, lines);
        return file;
    }

    [Fact]
    public void Should_colour_each_hospital_and_round_by_outcome_with_a_categorical_legend()
    {
        // 6 hospitals, 2 rounds: hospital-06 never selected, hospital-02 dropped in round 2.
        var events = Events(6, 2, (h, r) => h == 5 ? null : h == 1 && r == 2 ? "dropped" : "accepted");
        var ids = Enumerable.Range(0, 6).Select(h => ExperimentSettings.HospitalIdOf(h, 6)).ToList();

        var plot = RunPlots.ParticipationPlot(events, 2, ids)!;

        Assert.Equal(["not selected", "accepted", "dropped"], plot.Legend.ManualItems.Select(i => i.LabelText));
        Assert.Equal(6 * 2, plot.GetPlottables().OfType<ScottPlot.Plottables.Rectangle>().Count());
        Assert.Empty(plot.GetPlottables().OfType<ScottPlot.Plottables.Heatmap>());
        Assert.All(RoundTicks(plot), t => Assert.Equal(Math.Round(t), t));
    }

    [Fact]
    public void Should_count_outcomes_per_round_as_stacked_bars_at_320_hospitals_in_a_small_image()
    {
        // 320 hospitals, 100 selected a round: 90 accepted, 5 dropped, 5 late.
        var events = Events(320, 3, (h, _) => h >= 100 ? null : h < 90 ? "accepted" : h < 95 ? "dropped" : "late");
        var ids = Enumerable.Range(0, 320).Select(h => ExperimentSettings.HospitalIdOf(h, 320)).ToList();

        var plot = RunPlots.ParticipationPlot(events, 3, ids)!;

        Assert.Equal(["accepted", "dropped", "late"], plot.Legend.ManualItems.Select(i => i.LabelText));
        var bars = Assert.Single(plot.GetPlottables().OfType<ScottPlot.Plottables.BarPlot>()).Bars.ToList();
        Assert.Equal(9, bars.Count); // 3 outcomes × 3 rounds, not 320 rows
        Assert.Equal([(0.0, 90.0), (90, 95), (95, 100)], bars.Where(b => b.Position == 2).Select(b => (b.ValueBase, b.Value)));
        Assert.Empty(plot.GetPlottables().OfType<ScottPlot.Plottables.Rectangle>());
        var file = Path.Combine(_root, "participation.png");
        plot.SavePng(file, RunPlots.Width, RunPlots.Height);
        PngFiles.AssertValid(file, RunPlots.Width, RunPlots.Height);
        Assert.InRange(new FileInfo(file).Length, 5_000, 150_000);
    }

    [Fact]
    public void Should_zero_pad_hospital_ids_to_the_width_of_the_count_from_100_hospitals()
    {
        Assert.Equal(["hospital-01", "hospital-99"], new[] { 0, 98 }.Select(i => ExperimentSettings.HospitalIdOf(i, 99)));
        Assert.Equal(ExperimentSettings.HospitalId(7), ExperimentSettings.HospitalIdOf(7, 8)); // the default run's ids are unchanged
        Assert.Equal(["hospital-001", "hospital-011", "hospital-100", "hospital-320"], new[] { 0, 10, 99, 319 }.Select(i => ExperimentSettings.HospitalIdOf(i, 320)));
        var ids = Enumerable.Range(0, 320).Select(i => ExperimentSettings.HospitalIdOf(i, 320)).ToList();
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal)); // sorting by id is sorting by number
        Assert.Equal("hospital-0001", ExperimentSettings.HospitalIdOf(0, 1000));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
