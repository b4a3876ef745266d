using FedActors.Host.Reports;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors report RUN_DIR... [--out FILE] [--title T] [--metric accuracy|balanced_accuracy|...] [--notes FILE]</c>: a markdown comparison of runs.</summary>
public static class ReportCommand
{
    public sealed record Options(IReadOnlyList<string> Runs, string Out, string Title, string Metric, string? Notes = null);

    public static Options Parse(IReadOnlyList<string> args)
    {
        var runs = new List<string>();
        string outFile = "report.md", title = "FedActors report", metric = "accuracy";
        string? notes = null;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--out": outFile = Value(); break;
                case "--title": title = Value(); break;
                case "--metric": metric = Value(); break;
                case "--notes": notes = Value(); break;
                default:
                    if (args[i].StartsWith('-')) throw new ArgumentException($"unknown option '{args[i]}' for report.");
                    runs.Add(args[i]);
                    break;
            }
        }
        if (runs.Count == 0) throw new ArgumentException("report needs at least one run directory.");
        return new Options(runs, outFile, title, metric, notes);
    }

    public static int Execute(Options options, IReadOnlyList<string> commandLine, TextWriter output)
    {
        var runs = options.Runs.Select(ReportedRun.Read).ToList();
        var markdown = RunReport.Markdown(options.Title, runs, options.Metric, "fedactors " + string.Join(' ', commandLine));
        if (options.Notes is not null)
        {
            // What the numbers mean is written by hand, kept beside the experiment, and placed after the table.
            if (!File.Exists(options.Notes)) throw new Configuration.ConfigError($"--notes {options.Notes}: no such file.");
            var table = markdown.IndexOf("\n## Runs", StringComparison.Ordinal);
            markdown = markdown[..table] + "\n" + File.ReadAllText(options.Notes).TrimEnd() + "\n" + markdown[table..];
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(options.Out));
        if (directory is not null) Directory.CreateDirectory(directory);
        var plot = Path.ChangeExtension(options.Out, ".png");
        // Classifiers are followed by their test balanced accuracy each round, encoders by the linear probe.
        if (runs.Any(r => r.ClassifierRounds.Count > 0))
        {
            if (RunReport.WritePlot(plot, runs, "test_balanced_accuracy", fromClassifier: true))
                markdown = markdown.Replace("\n## Runs",
                    $"\nTest balanced accuracy of each round's global classifier (classifier.csv; shown, never used to choose), mean over seeds:\n\n![test balanced accuracy per round, mean over seeds]({Path.GetFileName(plot)})\n\n## Runs");
        }
        else if (RunReport.WritePlot(plot, runs, "probe_accuracy"))
            markdown = markdown.Replace("\n## Runs",
                $"\nLinear-probe accuracy of the global encoder during training (metrics.csv), mean over seeds:\n\n![probe accuracy per round, mean over seeds]({Path.GetFileName(plot)})\n\n## Runs");
        File.WriteAllText(options.Out, markdown);
        output.WriteLine($"report of {runs.Count} run(s) in {RunReport.Group(runs.Where(r => r.Finished).ToList()).Count} variant(s) written to {options.Out}");
        return Program.Ok;
    }
}
