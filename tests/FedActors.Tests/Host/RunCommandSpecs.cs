using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Tests.Host;

[Collection(InProcessRuns.Name)]
public sealed class RunCommandSpecs : IDisposable
{
    private readonly string _runsRoot = Directory.CreateTempSubdirectory("fedactors-runs-").FullName;

    private List<string> TinyOverrides(ulong seed) => TinyRun.Overrides(_runsRoot, seed);

    private static string MetricsWithoutTimings(RunDirectory run)
    {
        var lines = File.ReadAllLines(Path.Combine(run.Path, RunDirectory.MetricsFile));
        var wall = Array.IndexOf(RunDirectory.MetricsColumns, "wall_seconds");
        return string.Join("\n", lines.Select(l => string.Join(',', l.Split(',').Where((_, i) => i != wall))));
    }

    [Fact]
    public async Task Should_give_identical_metrics_for_the_same_seed_and_config()
    {
        var first = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyOverrides(5)), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");
        var second = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyOverrides(5)), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");
        var other = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyOverrides(6)), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");

        Assert.Equal(MetricsWithoutTimings(first.Directory), MetricsWithoutTimings(second.Directory));
        Assert.Equal(first.Completed.FinalGlobal.ContentHash, second.Completed.FinalGlobal.ContentHash);
        Assert.Equal(first.TrainedProbeAccuracy, second.TrainedProbeAccuracy);
        Assert.NotEqual(first.Completed.FinalGlobal.ContentHash, other.Completed.FinalGlobal.ContentHash);
    }

    [Fact]
    public async Task Should_print_one_line_per_round_and_write_the_run_directory()
    {
        var output = new StringWriter();
        var result = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, TinyOverrides(5)), output).Within(TimeSpan.FromMinutes(3), "the run");

        var roundLines = output.ToString().Split('\n').Where(l => l.StartsWith("round ")).ToList();
        Assert.Equal(["round 1/2", "round 2/2"], roundLines.Select(l => l[..9]));
        Assert.Contains("trained encoder", output.ToString());
        Assert.Contains("random encoder", output.ToString());
        Assert.Contains("device use: cpu", output.ToString());

        var metrics = File.ReadAllLines(Path.Combine(result.Directory.Path, RunDirectory.MetricsFile));
        Assert.Equal(3, metrics.Length); // header + one row per round
        Assert.Contains("count = 2", File.ReadAllText(Path.Combine(result.Directory.Path, RunDirectory.ResolvedConfigFile)).Replace(" : ", " = "));
        var saved = FedActors.Training.Weights.ModelWeights.Load(Path.Combine(result.Directory.Path, RunDirectory.FinalWeightsFile));
        Assert.Equal(result.Completed.FinalGlobal.ContentHash, saved.ContentHash);

        // TensorBoard: one point per round for every round tag, at steps 1 and 2, in valid TFRecord framing.
        var board = Directory.GetFiles(Path.Combine(result.Directory.Path, TensorBoardLog.Directory), "events.out.tfevents.*").Single();
        var scalars = TensorBoardFiles.Read(board).Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value.Select(v => (v.Tag, e.Step, v.SimpleValue))).ToList();
        foreach (var tag in TensorBoardLog.RoundTags)
            Assert.Equal([1L, 2L], scalars.Where(x => x.Tag == tag).Select(x => x.Step));
        Assert.Equal((float)result.Completed.Rounds[1].MeanLoss, scalars.Single(x => x is { Tag: "round/mean_loss", Step: 2 }).SimpleValue);
        Assert.Contains(scalars, x => x is { Tag: "eval/probe_accuracy", Step: 2 });

        // The closing line names what the run wrote, the per-hospital files, snapshots and its HTML page among them.
        var closing = output.ToString().Split('\n').Single(l => l.StartsWith("done in ", StringComparison.Ordinal)).TrimEnd();
        Assert.Contains("wrote resolved.conf, metrics.csv, traffic.csv, aggregation.csv, events.jsonl, final-global.weights, ", closing);
        Assert.Contains("snapshots/, plots/, tensorboard/, report.html", closing);
        Assert.True(File.Exists(Path.Combine(result.Directory.Path, FedActors.Host.Reports.HtmlReport.RunFile)));

        // Plots: valid PNGs of the evaluation, the traffic and the participation of every hospital.
        foreach (var plot in new[] { RunPlots.Evaluation, RunPlots.Traffic, RunPlots.Participation })
            PngFiles.AssertValid(Path.Combine(result.Directory.Path, RunPlots.Directory, plot), 900, 500);

        // Each hospital's round-end state is snapshotted inside this run's directory.
        var snapshots = Path.Combine(result.Directory.Path, RunDirectory.SnapshotsDirectory);
        foreach (var hospital in result.Completed.Rounds[0].Selected)
            Assert.Contains(Directory.GetFiles(snapshots, $"snapshot-hospital-{hospital}-*"), f => !f.EndsWith(".tmp"));
    }

    [Fact]
    public async Task Should_keep_the_global_model_of_the_newest_rounds_in_checkpoints()
    {
        var overrides = TinyRun.Overrides(_runsRoot, 5, rounds: 3).Concat(["checkpoints.every=1", "checkpoints.keep-last=2"]).ToList();
        var result = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, overrides), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run");

        var checkpoints = Path.Combine(result.Directory.Path, RunDirectory.CheckpointsDirectory);
        Assert.Equal(["round-0002.weights", "round-0003.weights"], Directory.GetFiles(checkpoints).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var round in new[] { 2, 3 })
            Assert.Equal(result.Completed.Rounds[round - 1].GlobalHash,
                FedActors.Training.Weights.ModelWeights.Load(Path.Combine(checkpoints, CheckpointWriter.FileName(round))).ContentHash);
    }

    [Fact]
    public async Task Should_write_label_efficiency_figures_for_each_fraction_protocol_and_encoder_with_the_baselines_and_step_counts()
    {
        var overrides = TinyRun.Overrides(_runsRoot, 5).Concat(["evaluation.label-fractions=[0.25, 1.0]", "evaluation.fine-tune=on",
            "evaluation.fine-tune-steps=7", "evaluation.fine-tune-validate-every=3", "probe.validate-every=10"]).ToList();
        var output = new StringWriter();
        var result = await RunCommand.ExecuteAsync(ExperimentConfig.Load(null, overrides), output).Within(TimeSpan.FromMinutes(3), "the run");

        var rows = File.ReadAllLines(Path.Combine(result.Directory.Path, RunDirectory.EvaluationFile)).Select(l => l.Split(',')).ToList();
        Assert.Equal(["protocol", "encoder", "split", "label_fraction", "labelled", "accuracy", "balanced_accuracy", "selected_step", "step_budget",
            "validation_balanced_accuracy", "local_steps"], rows[0]);
        // The synthetic source's test images are drawn through the hospitals' scanners already: one split, "test".
        Assert.Equal(["majority-class none 0.25", "linear-probe final 0.25", "fine-tune final 0.25", "linear-probe random-init 0.25", "fine-tune random-init 0.25",
                "majority-class none 1", "linear-probe final 1", "fine-tune final 1", "linear-probe random-init 1", "fine-tune random-init 1"],
            rows.Skip(1).Select(r => $"{r[0]} {r[1]} {r[3]}"));
        Assert.All(rows.Skip(1), r => Assert.Equal("test", r[2]));
        Assert.Equal(4 * 32, int.Parse(rows[7][4])); // all the labels: 4 hospitals x 32 images
        Assert.All(rows.Skip(1), r => Assert.InRange(double.Parse(r[5], System.Globalization.CultureInfo.InvariantCulture), 0, 1));
        // Budgets as configured, the chosen step one of the checks (3, 6, 7 for fine-tuning; 10, 20, 30 for the probe of 30 steps).
        Assert.All(rows.Skip(1).Where(r => r[0] == "fine-tune"), r => { Assert.Equal("7", r[8]); Assert.Contains(r[7], new[] { "3", "6", "7" }); });
        Assert.All(rows.Skip(1).Where(r => r[0] == "linear-probe"), r => { Assert.Equal("30", r[8]); Assert.Contains(r[7], new[] { "10", "20", "30" }); });
        // The majority-class baseline: balanced accuracy 1 / classes present, no steps.
        Assert.All(rows.Skip(1).Where(r => r[0] == "majority-class"), r => Assert.Equal(("0", "0", ""), (r[7], r[8], r[9])));
        // Local steps: 4 hospitals x 2 rounds x 2 local epochs x 32 images / batches of 8 = 64, on every row and in metrics.csv.
        Assert.All(rows.Skip(1), r => Assert.Equal("64", r[10]));
        var metrics = File.ReadAllLines(Path.Combine(result.Directory.Path, RunDirectory.MetricsFile)).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.Equal(["32", "32"], metrics.Select(r => r[Array.IndexOf(RunDirectory.MetricsColumns, "local_steps")]));
        Assert.Contains("local optimiser steps: 64 in all over 2 rounds", output.ToString());
        Assert.Matches(@"linear probe \(10 % labels, 4 classes, majority class 0\.\d{3}\)", output.ToString());
    }

    [Fact]
    public void Should_refuse_a_label_fraction_outside_0_to_1()
    {
        var error = Assert.Throws<ConfigError>(() => ExperimentConfig.Load(null, ["evaluation.label-fractions=[0.1, 2]"]));
        Assert.Contains("'fedactors.evaluation.label-fractions' item 1", error.Message);
    }

    [Theory]
    [InlineData(2, 5, new[] { 2, 4, 5 })]
    [InlineData(0, 5, new[] { 5 })]
    [InlineData(1, 3, new[] { 1, 2, 3 })]
    public void Should_checkpoint_every_nth_round_and_the_last(int every, int rounds, int[] expected) =>
        Assert.Equal(expected, Enumerable.Range(1, rounds).Where(r => new CheckpointSettings(every, 0).Wants(r, rounds)));

    public void Dispose() => Directory.Delete(_runsRoot, recursive: true);
}
