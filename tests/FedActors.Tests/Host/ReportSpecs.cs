using FedActors.Host;
using FedActors.Host.Commands;
using FedActors.Host.Configuration;
using FedActors.Host.Reports;
using FedActors.Host.Runs;

namespace FedActors.Tests.Host;

public sealed class ReportSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fedactors-report-").FullName;

    /// <summary>A finished run directory written by hand: two rounds of 1 MB up and 2 MB down, 10 s each, and its evaluation.</summary>
    private string Run(string name, string method, int seed, double probe10, double probe100)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, name)).FullName;
        File.WriteAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile),
            $"fedactors {{\n  seed = {seed}\n  method = {method}\n  runs-dir = \"{_root}\"\n  data {{ hospitals = 6 }}\n}}\n");
        File.WriteAllText(Path.Combine(dir, RunDirectory.MetricsFile),
            "round,bytes_up,bytes_down,wall_seconds,probe_accuracy\n1,1000000,2000000,10,\n2,1000000,2000000,10,0.5\n");
        File.WriteAllText(Path.Combine(dir, RunDirectory.EvaluationFile),
            $"protocol,label_fraction,labelled,accuracy,balanced_accuracy\nlinear-probe,0.1,40,{probe10},0.4\nlinear-probe,1,400,{probe100},0.6\n");
        File.WriteAllText(Path.Combine(dir, RunDirectory.FinalWeightsFile), "");
        return dir;
    }

    [Fact]
    public void Should_tabulate_the_mean_and_std_of_each_variant_over_its_seeds()
    {
        string[] runs =
        [
            Run("a1", "fedmoco", 1, 0.70, 0.80), Run("a2", "fedmoco", 2, 0.74, 0.84),
            Run("b1", "fedmoco-plain", 1, 0.60, 0.90), Run("b2", "fedmoco-plain", 2, 0.60, 0.70),
        ];
        var report = Path.Combine(_root, "docs", "report.md");

        var exit = ReportCommand.Execute(ReportCommand.Parse([.. runs, "--out", report, "--title", "Two methods"]), ["report"], TextWriter.Null);

        Assert.Equal(Program.Ok, exit);
        var lines = File.ReadAllLines(report);
        Assert.Equal("# Two methods", lines[0]);
        Assert.Contains("| variant | seeds | linear-probe 10 % | linear-probe 100 % | MB up / round | MB down / round | round seconds |", lines);
        // fedmoco: mean 0.72, sample std sqrt(((0.02)² + (0.02)²)/1) = 0.028; fedmoco-plain at 100 %: 0.8 ± 0.141.
        Assert.Contains("| method=fedmoco | 1, 2 | 0.720 ± 0.028 | 0.820 ± 0.028 | 1.000 ± 0.000 | 2.000 ± 0.000 | 10.0 ± 0.0 |", lines);
        Assert.Contains("| method=fedmoco-plain | 1, 2 | 0.600 ± 0.000 | 0.800 ± 0.141 | 1.000 ± 0.000 | 2.000 ± 0.000 | 10.0 ± 0.0 |", lines);
        Assert.Contains("fedactors.data.hospitals = 6", lines);
        // The comparison plot beside it, linked from it.
        PngFiles.AssertValid(Path.Combine(_root, "docs", "report.png"), 900, 500);
        Assert.Contains("![probe accuracy per round, mean over seeds](report.png)", lines);
        Assert.Contains("Linear-probe accuracy of the global encoder during training (metrics.csv), mean over seeds:", lines);
    }

    [Fact]
    public void Should_tabulate_segmentation_dice_per_labelled_volumes_and_traffic_by_kind()
    {
        string Segmentation(string name, int seed, double dice1, long featureBytes)
        {
            var dir = Run(name, "fcl", seed, 0, 0);
            File.WriteAllText(Path.Combine(dir, RunDirectory.EvaluationFile),
                $"protocol,labelled_volumes,dice,dice_std_over_hospitals,dice_hospital-01,skipped\nlocal-fine-tune,1,{dice1},0.1,{dice1},\nlocal-fine-tune,4,,,,too few volumes\n");
            // Two rounds: 3 MB of weights up in all, and features up in round 2 only.
            File.WriteAllText(Path.Combine(dir, RunDirectory.TrafficFile),
                $"round,hospital,direction,kind,bytes\n1,h1,up,weights,1500000\n2,h1,up,weights,1500000\n2,h1,up,features,{featureBytes}\n");
            return dir;
        }

        var markdown = RunReport.Markdown("t", [ReportedRun.Read(Segmentation("s1", 1, 0.5, 400_000)), ReportedRun.Read(Segmentation("s2", 2, 0.7, 800_000))],
            "dice", "fedactors report").Replace("\r\n", "\n");

        Assert.Contains("| variant | seeds | local-fine-tune N=1 | local-fine-tune N=4 | MB up / round |", markdown);
        // Dice 0.6 ± 0.141 over the two seeds; N = 4 was skipped in both.
        Assert.Contains("| all runs | 1, 2 | 0.600 ± 0.141 | – |", markdown);
        Assert.Contains("| variant | up features | up weights |", markdown);
        // Features: (0.4 and 0.8 MB) / 2 rounds → 0.2 and 0.4 MB per round, mean 0.3 ± 0.141; weights 1.5 per round.
        Assert.Contains("| all runs | 0.300 ± 0.141 | 1.500 ± 0.000 |", markdown);
    }

    [Fact]
    public void Should_say_how_many_seeds_a_figure_has_when_a_run_wrote_no_result()
    {
        var complete = Run("e1", "fedmoco", 1, 0.7, 0.8);
        var evaluating = Run("e2", "fedmoco", 2, 0.9, 0.9);
        // Finished training, but its evaluation had not been written when the report was made.
        File.Delete(Path.Combine(evaluating, RunDirectory.EvaluationFile));

        var markdown = RunReport.Markdown("t", [ReportedRun.Read(complete), ReportedRun.Read(evaluating)], "accuracy", "fedactors report");

        Assert.Contains("| all runs | 1, 2 | 0.700 (1 of 2 seeds) | 0.800 (1 of 2 seeds) | 1.000 ± 0.000 |", markdown);
    }

    [Fact]
    public void Should_name_variants_only_by_the_options_their_own_method_reads()
    {
        string Method(string name, string method, string options)
        {
            var dir = Run(name, method, 1, 0.5, 0.5);
            File.WriteAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile),
                $"fedactors {{\n  seed = 1\n  method = {method}\n  evaluation.label-fractions = []\n  {options}\n}}\n");
            return dir;
        }
        ReportedRun[] runs =
        [
            ReportedRun.Read(Method("fcl", "fcl", "fclopt { ptnu = off, dp = off }\n  fcl.temperature = 0.1")),
            ReportedRun.Read(Method("fcl-warm", "fcl", "fclopt { ptnu = off, dp = off }\n  fcl.temperature = 0.5")),
            ReportedRun.Read(Method("opt", "fclopt", "fclopt { ptnu = off, dp = off }\n  fcl.temperature = 0.1")),
            ReportedRun.Read(Method("opt-dp", "fclopt", "fclopt { ptnu = on, dp = on }\n  fcl.temperature = 0.1")),
        ];

        var names = RunReport.Group(runs).Select(v => v.Name).ToList();

        Assert.Equal(["method=fcl, fcl.temperature=0.1", "method=fcl, fcl.temperature=0.5",
            "method=fclopt, fclopt.dp=off, fclopt.ptnu=off", "method=fclopt, fclopt.dp=on, fclopt.ptnu=on"], names);
        // An empty list is written as one, not as HOCON's "<<unknown value>>".
        Assert.Equal("[]", runs[0].Config["fedactors.evaluation.label-fractions"]);
    }

    [Fact]
    public void Should_tabulate_the_global_classifier_per_hospital_and_the_aggregation_weights_per_round()
    {
        string Classifier(string name, string method, int seed, double balanced, double site1, string weights)
        {
            var dir = Run(name, method, seed, 0, 0);
            File.WriteAllText(Path.Combine(dir, RunDirectory.EvaluationFile),
                "protocol,label_fraction,round,accuracy,balanced_accuracy,validation_balanced_accuracy,balanced_accuracy_hospital-01,balanced_accuracy_hospital-02\n" +
                $"global-classifier,1,2,0.9,{balanced},0.5,{site1},0.4\n");
            // Each seed pre-trains its own auxiliary encoder: that does not make it another variant.
            File.AppendAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile), $"fedactors.fedmas {{ auxiliary = \"/aux-{seed}.weights\", auxiliary-hash = h{seed} }}\n");
            // A run made before a key existed ran as its default: it is the same variant as one that names it.
            if (seed == 2) File.AppendAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile), "fedactors.fedmas.aggregation = robust-factor\n");
            if (method != "fedmas") File.AppendAllText(Path.Combine(dir, RunDirectory.ResolvedConfigFile), "fedactors.fedmas.aggregation = samples\n");
            File.WriteAllText(Path.Combine(dir, RunDirectory.AggregationFile), "round,hospital,weight\n" + weights);
            File.WriteAllText(Path.Combine(dir, RunDirectory.ClassifierFile),
                $"round,validation_balanced_accuracy,test_balanced_accuracy,test_accuracy\n1,0.3,0.3,0.5\n2,0.5,{balanced},0.9\n");
            return dir;
        }
        const string samples = "1,hospital-01,0.75\n1,hospital-02,0.25\n2,hospital-01,0.75\n2,hospital-02,0.25\n";
        ReportedRun[] runs =
        [
            ReportedRun.Read(Classifier("m1", "fedmas", 1, 0.6, 0.5, "1,hospital-01,0.4\n1,hospital-02,0.6\n2,hospital-01,0.2\n2,hospital-02,0.8\n")),
            ReportedRun.Read(Classifier("m2", "fedmas", 2, 0.8, 0.7, "1,hospital-01,0.6\n1,hospital-02,0.4\n2,hospital-01,0.4\n2,hospital-02,0.6\n")),
            ReportedRun.Read(Classifier("c1", "fedavg-ce", 1, 0.5, 0.5, samples)),
        ];

        var markdown = RunReport.Markdown("t", runs, "balanced_accuracy", "fedactors report").Replace("\r\n", "\n");

        Assert.Contains("| variant | seeds | global-classifier | MB up / round |", markdown);
        Assert.Contains("| method=fedmas, fedmas.aggregation=robust-factor | 1, 2 | 0.700 ± 0.141 |", markdown);
        Assert.Contains("| variant | hospital-01 | hospital-02 |\n|---|---|---|\n| method=fedmas, fedmas.aggregation=robust-factor | 0.600 ± 0.141 | 0.400 ± 0.000 |", markdown);
        // Mean over rounds, then over seeds: hospital-01 (0.3 and 0.5) → 0.4 ± 0.141; FedAvg keeps its sample shares.
        Assert.Contains("| method=fedmas, fedmas.aggregation=robust-factor | 0.400 ± 0.141 | 0.600 ± 0.141 |", markdown);
        Assert.Contains("| method=fedavg-ce | 0.750 (n = 1) | 0.250 (n = 1) |", markdown);
        // Fed-MAS's own options never name another method's variant.
        Assert.DoesNotContain("method=fedavg-ce, fedmas", markdown);
        // Per round only for the method whose weights move: round 2 is (0.2 + 0.4) / 2 and (0.8 + 0.6) / 2.
        Assert.Contains("method=fedmas, fedmas.aggregation=robust-factor: aggregation weight per round, mean over seeds:", markdown);
        Assert.Contains("| 2 | 0.300 | 0.700 |", markdown);
        Assert.DoesNotContain("method=fedavg-ce: aggregation weight per round", markdown);
        // The plot follows each round's global classifier, not a linear probe.
        var report = Path.Combine(_root, "docs", "fedmas.md");
        ReportCommand.Execute(ReportCommand.Parse([.. runs.Select(r => r.Directory), "--out", report, "--metric", "balanced_accuracy"]), ["report"], TextWriter.Null);
        PngFiles.AssertValid(Path.Combine(_root, "docs", "fedmas.png"), 900, 500);
        Assert.Contains("![test balanced accuracy per round, mean over seeds](fedmas.png)", File.ReadAllLines(report));
    }

    /// <summary>A finished run in the protocol's format: final and random-init fine-tuning at 10 %, on test and test-shifted, the majority rate, local steps.</summary>
    private string ProtocolRun(string name, int seed, double final, double random, double shifted)
    {
        var dir = Run(name, "fedmoco", seed, 0, 0);
        File.WriteAllText(Path.Combine(dir, RunDirectory.MetricsFile),
            "round,bytes_up,bytes_down,wall_seconds,local_steps,probe_accuracy\n1,1000000,2000000,10,60,\n2,1000000,2000000,10,40,0.5\n");
        const string header = "protocol,encoder,split,label_fraction,labelled,accuracy,balanced_accuracy,selected_step,step_budget,validation_balanced_accuracy,local_steps\n";
        File.WriteAllText(Path.Combine(dir, RunDirectory.EvaluationFile), header +
            "majority-class,none,test,0.1,40,0.625,0.5,0,0,,100\n" +
            "majority-class,none,test-shifted,0.1,40,0.625,0.5,0,0,,100\n" +
            $"fine-tune,final,test,0.1,40,{final},0.7,200,300,0.7,100\n" +
            $"fine-tune,final,test-shifted,0.1,40,{shifted},0.6,200,300,0.7,100\n" +
            $"fine-tune,random-init,test,0.1,40,{random},0.55,25,300,0.6,100\n" +
            $"fine-tune,random-init,test-shifted,0.1,40,{random - 0.1},0.5,25,300,0.6,100\n");
        return dir;
    }

    [Fact]
    public void Should_put_the_random_init_and_majority_class_baselines_beside_each_variant_and_tabulate_the_shifted_split_and_local_steps()
    {
        var runs = new[] { ProtocolRun("p1", 1, 0.80, 0.70, 0.75), ProtocolRun("p2", 2, 0.84, 0.74, 0.79) }.Select(ReportedRun.Read).ToList();

        var lines = RunReport.Markdown("t", runs, "accuracy", "fedactors report").Replace("\r\n", "\n").Split('\n');

        Assert.Contains("| variant | seeds | fine-tune 10 % | MB up / round | MB down / round | round seconds | local steps |", lines);
        // Final: 0.82 ± 0.028; random-init: 0.72 ± 0.028; local steps 60 + 40 = 100 in each run.
        Assert.Contains("| all runs | 1, 2 | 0.820 ± 0.028 | 1.000 ± 0.000 | 2.000 ± 0.000 | 10.0 ± 0.0 | 100 ± 0 |", lines);
        Assert.Contains("| all runs: random-init encoder | 1, 2 | 0.720 ± 0.028 |  |  |  |  |", lines);
        Assert.Contains("| majority class (baseline) | 1, 2 | 0.625 ± 0.000 |  |  |  |  |", lines);
        // The site-shifted split: its own table, with its own baselines.
        var shifted = Array.IndexOf(lines, "accuracy, test-shifted split:");
        Assert.True(shifted > 0, "no table of the test-shifted split");
        Assert.Equal("| variant | seeds | fine-tune 10 % |", lines[shifted + 2]);
        Assert.Equal("| all runs | 1, 2 | 0.770 ± 0.028 |", lines[shifted + 4]);
        Assert.Equal("| all runs: random-init encoder | 1, 2 | 0.620 ± 0.028 |", lines[shifted + 5]);
        Assert.Equal("| majority class (baseline) | 1, 2 | 0.625 ± 0.000 |", lines[shifted + 6]);
    }

    [Fact]
    public void Should_give_each_metric_asked_for_its_own_table()
    {
        var run = ReportedRun.Read(Run("one", "fedmoco", 1, 0.7, 0.8));

        var markdown = RunReport.Markdown("t", [run], "accuracy,balanced_accuracy", "fedactors report");

        Assert.Contains("| all runs | 1 | 0.700 (n = 1) | 0.800 (n = 1) | 1.000 (n = 1) | 2.000 (n = 1) | 10.0 (n = 1) |", markdown);
        Assert.Contains("balanced_accuracy:", markdown);
        Assert.Contains("| all runs | 1 | 0.400 (n = 1) | 0.600 (n = 1) |\n", markdown.Replace("\r\n", "\n"));
    }

    [Fact]
    public void Should_leave_out_an_unfinished_run_and_say_so()
    {
        var finished = Run("done", "fedmoco", 1, 0.7, 0.8);
        var running = Run("running", "fedmoco", 2, 0.1, 0.1);
        File.Delete(Path.Combine(running, RunDirectory.FinalWeightsFile));

        var markdown = RunReport.Markdown("t", [ReportedRun.Read(finished), ReportedRun.Read(running)], "accuracy", "fedactors report");

        Assert.Contains("| all runs | 1 | 0.700 (n = 1) | 0.800 (n = 1) |", markdown);
        Assert.Contains($"Left out, unfinished (no {RunDirectory.FinalWeightsFile}): `{running}`", markdown);
    }

    [Fact]
    public void Should_mark_each_hospital_per_round_as_not_selected_selected_or_aggregated()
    {
        var events = Path.Combine(_root, "events.jsonl");
        File.WriteAllLines(events,
        [
            """{"round":1,"attempt":1,"kind":"selected","hospital":"h-b","reason":"selected","sim_s":0}""",
            """{"round":1,"attempt":1,"kind":"selected","hospital":"h-a","reason":"selected","sim_s":0}""",
            """{"round":1,"attempt":1,"kind":"accepted","hospital":"h-a","reason":"arrived","sim_s":1}""",
            """{"round":1,"attempt":1,"kind":"dropped","hospital":"h-b","reason":"random dropout","sim_s":1}""",
            """{"round":1,"attempt":1,"kind":"round-closed","hospital":null,"reason":"aggregated 1 of 2","sim_s":1}""",
            """{"round":2,"attempt":1,"kind":"selected","hospital":"h-b","reason":"selected","sim_s":1}""",
            """{"round":2,"attempt":1,"kind":"accepted","hospital":"h-b","reason":"arrived","sim_s":2}""",
        ]);

        var matrix = FedActors.Host.Runs.RunPlots.ParticipationMatrix(events, 2, ["h-a", "h-b", "h-c"], out var hospitals);

        Assert.Equal(["h-a", "h-b", "h-c"], hospitals);
        Assert.Equal(new double[,] { { 2, 0 }, { 1, 2 }, { 0, 0 } }, matrix);
    }

    [Fact]
    public void Should_name_a_directory_that_is_not_a_run()
    {
        var error = Assert.Throws<ConfigError>(() => ReportedRun.Read(_root));
        Assert.Contains(_root, error.Message);
        Assert.Contains(RunDirectory.ResolvedConfigFile, error.Message);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
