using FedActors.Host;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Reports;
using FedActors.Host.Runs;

namespace FedActors.Tests.Host;

/// <summary>What a report chooses and where it goes (issue 26): a metric the runs have, seconds per round, n, its place, failed runs.</summary>
public sealed class ReportChoicesSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fedactors-report-choices-").FullName;

    /// <summary>A finished run with no evaluation.csv: two rounds of 10 s and 30 s, probed after round 2.</summary>
    private string Run(string name, int seed, double probe, string? evaluation = null)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "runs", name)).FullName;
        File.WriteAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile), $"fedactors {{\n  seed = {seed}\n  method = fedmoco-plain\n}}\n");
        File.WriteAllText(Path.Combine(dir, RunDirectory.MetricsFile),
            $"round,mean_loss,bytes_up,bytes_down,wall_seconds,probe_accuracy\n1,5.5,1000000,2000000,10,\n2,5.25,1000000,2000000,30,{probe}\n");
        if (evaluation is not null) File.WriteAllText(Path.Combine(dir, RunDirectory.EvaluationFile), evaluation);
        File.WriteAllText(Path.Combine(dir, RunDirectory.FinalWeightsFile), "");
        return dir;
    }

    [Fact]
    public void Should_choose_the_probe_accuracy_for_runs_without_evaluation_csv_and_show_seconds_per_round_and_n()
    {
        var run = ReportedRun.Read(Run("one", 1, 0.5));

        Assert.Equal("probe_accuracy", RunReport.DefaultMetric([run]));
        var markdown = RunReport.Markdown("t", [run], null, "fedactors report");

        Assert.Contains("| variant | seeds | probe_accuracy | MB up / round | MB down / round | round seconds |", markdown);
        // One seed: its value, n = 1, no "± 0.000"; round seconds (10 + 30) / 2 = 20.0, not the run's 40.
        Assert.Contains("| all runs | 1 | 0.500 (n = 1) | 1.000 (n = 1) | 2.000 (n = 1) | 20.0 (n = 1) |", markdown);
        Assert.Contains($"| all runs | 1 | 2 | 20.0 | `{run.Directory}` |", markdown);
        Assert.DoesNotContain("± 0.000", markdown);
    }

    [Fact]
    public void Should_name_the_metrics_the_runs_have_when_asked_for_one_they_lack()
    {
        var run = ReportedRun.Read(Run("one", 1, 0.5));

        var error = Assert.Throws<ConfigError>(() => RunReport.Markdown("t", [run], "accuracy", "fedactors report"));

        Assert.Equal("report: --metric accuracy: not a figure of these runs' metrics.csv; they have mean_loss, bytes_up, bytes_down, wall_seconds, probe_accuracy.", error.Message);
    }

    [Fact]
    public void Should_choose_accuracy_where_the_runs_wrote_evaluation_csv()
    {
        var run = ReportedRun.Read(Run("eval", 1, 0.5, "protocol,label_fraction,labelled,accuracy,balanced_accuracy\nlinear-probe,0.1,40,0.7,0.4\n"));

        Assert.Equal("accuracy", RunReport.DefaultMetric([run]));
        Assert.Contains("| all runs | 1 | 0.700 (n = 1) |", RunReport.Markdown("t", [run], null, "fedactors report"));
    }

    [Fact]
    public void Should_write_the_report_beside_the_runs_without_out_and_leave_a_failed_run_out_with_its_error()
    {
        var runs = new[] { Run("a", 1, 0.5), Run("b", 2, 0.7) };
        var failed = Directory.CreateDirectory(Path.Combine(_root, "runs", "c")).FullName;
        File.WriteAllText(Path.Combine(failed, RunStatus.FailedFile), "fedactors: data error: /x.npz: zip archive: corrupt\n2\n");

        var exit = ReportCommand.Execute(ReportCommand.Parse([.. runs, failed]), ["report"], TextWriter.Null);

        Assert.Equal(Program.Ok, exit);
        var report = Path.Combine(_root, "runs", "report.md");
        Assert.Equal(report, ReportCommand.DefaultOut([.. runs, failed]));
        var markdown = File.ReadAllText(report);
        Assert.True(File.Exists(Path.Combine(_root, "runs", "report.png")), "the plot beside the report");
        // Mean 0.6, sample std sqrt(0.01 + 0.01) = 0.141, over 2 seeds.
        Assert.Contains("| all runs | 1, 2 | 0.600 ± 0.141 |", markdown);
        Assert.Contains($"Left out, failed ({RunStatus.FailedFile}): `{failed}`: fedactors: data error: /x.npz: zip archive: corrupt.", markdown);

        // Again over the whole runs directory (a shell glob): last time's report.md and report.png are skipped, not read as runs.
        var printed = new StringWriter();
        Assert.Equal(Program.Ok, ReportCommand.Execute(ReportCommand.Parse(Directory.GetFileSystemEntries(Path.Combine(_root, "runs")).Order().ToList()), ["report"], printed));
        Assert.Contains($"skipped {report}: a file, not a run directory", printed.ToString());
        Assert.Contains("report of 3 run(s) in 1 variant(s) written to " + report, printed.ToString());
    }

    [Fact]
    public void Should_list_in_the_closing_line_every_file_and_folder_the_run_wrote()
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "wrote")).FullName;
        foreach (var file in new[] { RunDirectory.ResolvedConfigFile, RunDirectory.MetricsFile, RunDirectory.TrafficFile, RunDirectory.AggregationFile, RunDirectory.EventsFile, RunDirectory.FinalWeightsFile })
            File.WriteAllText(Path.Combine(dir, file), "");
        foreach (var folder in new[] { RunDirectory.CheckpointsDirectory, RunDirectory.SnapshotsDirectory, RunPlots.Directory })
            Directory.CreateDirectory(Path.Combine(dir, folder));

        Assert.Equal(["resolved.conf", "metrics.csv", "traffic.csv", "aggregation.csv", "events.jsonl", "final-global.weights", "checkpoints/", "snapshots/", "plots/"],
            RunReporter.Written(dir));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
