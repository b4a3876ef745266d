using FedActors.Host.Commands;
using FedActors.Host.Runs;

namespace FedActors.Tests.Host;

/// <summary><c>fedactors runs</c>: each run directory with its status, method, seed, rounds and final figure (issue 26).</summary>
public sealed class RunsCommandSpecs : IDisposable
{
    private readonly string _runs = Directory.CreateTempSubdirectory("fedactors-runs-").FullName;

    private string Run(string name, int seed, int roundsDone, string? probeAtLast = null)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_runs, name)).FullName;
        File.WriteAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile), $"fedactors {{\n  seed = {seed}\n  method = fedmoco-plain\n  rounds {{ count = 12 }}\n}}\n");
        File.WriteAllText(Path.Combine(dir, RunDirectory.MetricsFile), "round,mean_loss,probe_accuracy\n" +
            string.Concat(Enumerable.Range(1, roundsDone).Select(r => $"{r},5.0,{(r == roundsDone ? probeAtLast : "")}\n")));
        return dir;
    }

    [Fact]
    public void Should_list_a_completed_a_failed_and_an_interrupted_run_with_what_each_needs()
    {
        var completed = Run("20261207-100000", 42, 12, "0.704");
        File.WriteAllText(Path.Combine(completed, RunDirectory.FinalWeightsFile), "");
        File.WriteAllText(Path.Combine(completed, RunDirectory.EvaluationFile),
            "protocol,encoder,split,label_fraction,accuracy\nmajority-class,none,test,0.1,0.25\nlinear-probe,random-init,test,0.1,0.5\nlinear-probe,final,test,0.1,0.712\n");
        var failed = Run("20261207-110000", 7, 0);
        File.WriteAllText(Path.Combine(failed, RunStatus.FailedFile), "fedactors: data error: /d/x.npz: zip archive: corrupt or truncated\n2\n");
        var interrupted = Run("20261207-120000", 3, 3, "0.600");
        Directory.CreateDirectory(Path.Combine(interrupted, RunDirectory.SnapshotsDirectory, "coordinator"));
        File.WriteAllText(Path.Combine(interrupted, RunDirectory.SnapshotsDirectory, "coordinator", "snapshot-1"), "x");
        var starting = Run("20261207-130000", 5, 0); // running its first round, or killed before it closed
        Directory.CreateDirectory(Path.Combine(_runs, "notes")); // not a run directory

        var entries = RunsCommand.List(_runs);

        Assert.Equal(
        [
            new RunsCommand.Entry(completed, RunStatus.Completed, "fedmoco-plain", "42", 12, "12", "accuracy 0.712 (linear-probe)", ""),
            new RunsCommand.Entry(failed, RunStatus.Failed, "fedmoco-plain", "7", 0, "12", "–", "fedactors: data error: /d/x.npz: zip archive: corrupt or truncated"),
            new RunsCommand.Entry(interrupted, RunStatus.Resumable, "fedmoco-plain", "3", 3, "12", "probe 0.600", $"continue with: fedactors run --resume {interrupted}"),
            new RunsCommand.Entry(starting, RunStatus.NotStarted, "fedmoco-plain", "5", 0, "12", "–", ""),
        ], entries);
        var printed = new StringWriter();
        Assert.Equal(FedActors.Host.Program.Ok, RunsCommand.Execute(_runs, printed));
        var lines = printed.ToString().TrimEnd().Split('\n');
        Assert.Equal(6, lines.Length);
        Assert.StartsWith("run              status                 method         seed  rounds  final", lines[0]);
        Assert.StartsWith("20261207-100000  completed              fedmoco-plain  42    12/12   accuracy 0.712 (linear-probe)", lines[1]);
        Assert.StartsWith("20261207-120000  interrupted-resumable  fedmoco-plain  3     3/12    probe 0.600", lines[3]);
        Assert.Equal($"4 run(s) in {_runs}: 1 completed, 1 failed, 1 interrupted-resumable, 1 no-checkpoint", lines[5]);
    }

    [Fact]
    public void Should_refuse_a_missing_runs_directory_and_an_unknown_option()
    {
        Assert.Equal("/x", RunsCommand.Parse(["--runs-dir", "/x"]));
        Assert.Null(RunsCommand.Parse([]));
        Assert.Throws<ArgumentException>(() => RunsCommand.Parse(["--runs"]));
        var error = Assert.Throws<FedActors.Host.Configuration.ConfigError>(() => RunsCommand.List(Path.Combine(_runs, "nope")));
        Assert.Contains("nope: no such directory", error.Message);
    }

    public void Dispose() => Directory.Delete(_runs, recursive: true);
}
