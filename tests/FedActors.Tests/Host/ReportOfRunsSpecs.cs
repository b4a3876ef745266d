using System.Globalization;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Tests.Host;

/// <summary><c>fedactors report</c> over real (tiny) run directories.</summary>
[Collection(InProcessRuns.Name)]
public sealed class ReportOfRunsSpecs : IDisposable
{
    private readonly string _runsRoot = Directory.CreateTempSubdirectory("fedactors-report-runs-").FullName;

    [Fact]
    public async Task Should_tabulate_two_tiny_runs_of_one_method_as_one_variant_with_their_mean_and_std()
    {
        var runs = new List<RunResult>();
        foreach (var seed in new ulong[] { 1, 2 })
            runs.Add(await RunCommand.ExecuteAsync(ExperimentConfig.Load(null,
                [.. TinyRun.Overrides(_runsRoot, seed), "evaluation.label-fractions=[0.5]"]), TextWriter.Null).Within(TimeSpan.FromMinutes(3), "the run"));
        var out_ = Path.Combine(_runsRoot, "report.md");

        ReportCommand.Execute(ReportCommand.Parse([.. runs.Select(r => r.Directory.Path), "--out", out_]), ["report"], TextWriter.Null);

        // The expected row, computed here from the runs' own files.
        double Accuracy(RunResult r) => double.Parse(File.ReadAllLines(Path.Combine(r.Directory.Path, RunDirectory.EvaluationFile))
            .Single(l => l.StartsWith("linear-probe,final,test,", StringComparison.Ordinal)).Split(',')[5], CultureInfo.InvariantCulture);
        double MeanPerRound(RunResult r, Func<FedActors.Actors.Protocol.RoundSummary, double> f) => r.Completed.Rounds.Average(f) / 1e6;
        var a = runs.Select(Accuracy).ToArray();
        var mean = a.Average();
        var std = Math.Sqrt(a.Sum(x => (x - mean) * (x - mean)));
        string F(double v, string f = "F3") => v.ToString(f, CultureInfo.InvariantCulture);
        var up = runs.Select(r => MeanPerRound(r, s => s.BytesUp)).ToArray();
        var down = runs.Select(r => MeanPerRound(r, s => s.BytesDown)).ToArray();
        var lines = File.ReadAllLines(out_);
        Assert.Contains("| variant | seeds | linear-probe 50 % | MB up / round | MB down / round | round seconds | local steps |", lines);
        var row = Assert.Single(lines, l => l.StartsWith("| all runs | 1, 2 |", StringComparison.Ordinal));
        Assert.StartsWith($"| all runs | 1, 2 | {F(mean)} ± {F(std)} | {F(up.Average())} ± 0.000 | {F(down.Average())} ± 0.000 |", row);
        // Both runs' local steps: 4 hospitals x 2 rounds x 2 local epochs x 32 images / batches of 8 = 64.
        Assert.EndsWith("| 64 ± 0 |", row);
        Assert.Single(lines, l => l.StartsWith("| all runs: random-init encoder | 1, 2 | ", StringComparison.Ordinal));
        Assert.Single(lines, l => l.StartsWith("| majority class (baseline) | 1, 2 | ", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_runsRoot, recursive: true);
}
