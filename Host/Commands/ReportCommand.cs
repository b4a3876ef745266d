using FedActors.Host.Reports;

namespace FedActors.Host.Commands;

/// <summary><c>fedactors report RUN_DIR... [--out FILE] [--title T] [--metric accuracy|balanced_accuracy|...] [--notes FILE] [--plateau-epsilon E] [--plateau-rounds K] [--html]</c>: a markdown (and HTML) comparison of runs.</summary>
public static class ReportCommand
{
    /// <summary>The report command's parsed arguments.</summary>
    /// <param name="Runs">Run directories to compare, at least one; runs whose configs differ only in the seed form one variant.</param>
    /// <param name="Out">The markdown file written (<c>--out</c>; null: <c>report.md</c> beside the runs, in the directory that holds them all, see <see cref="DefaultOut"/>); a plot goes beside it with the extension <c>.png</c>.</param>
    /// <param name="Title">The report's heading (<c>--title</c>, default <c>FedActors report</c>).</param>
    /// <param name="Metric">The figure tabulated (<c>--metric</c>): <c>accuracy</c>, <c>balanced_accuracy</c> or a metrics.csv column; comma-separated for a table per figure; null: chosen from what the runs have (<see cref="RunReport.DefaultMetric"/>).</param>
    /// <param name="Notes">A hand-written markdown file placed after the table (<c>--notes</c>), or null for none.</param>
    /// <param name="PlateauEpsilon">The plateau rule's ε for runs with classifier.csv (<c>--plateau-epsilon</c>, default 0.01, 0 to 1).</param>
    /// <param name="PlateauRounds">The plateau rule's k (<c>--plateau-rounds</c>, default 5, at least 1).</param>
    /// <param name="Html">Also write the report as one self-contained HTML page beside it (<c>--html</c>: OUT with the extension <c>.html</c>).</param>
    public sealed record Options(IReadOnlyList<string> Runs, string? Out, string Title, string? Metric, string? Notes = null,
        double PlateauEpsilon = PlateauRule.DefaultEpsilon, int PlateauRounds = PlateauRule.DefaultPatience, bool Html = false);

    /// <summary>Parses the arguments after <c>report</c>.</summary>
    /// <param name="args">Run directories and options.</param>
    /// <exception cref="ArgumentException">An unknown option, an option without its value, or no run directory.</exception>
    public static Options Parse(IReadOnlyList<string> args)
    {
        var runs = new List<string>();
        string title = "FedActors report";
        string? notes = null, outFile = null, metric = null;
        var (epsilon, patience) = (PlateauRule.DefaultEpsilon, PlateauRule.DefaultPatience);
        var html = false;
        for (var i = 0; i < args.Count; i++)
        {
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--out": outFile = Value(); break;
                case "--title": title = Value(); break;
                case "--metric": metric = Value(); break;
                case "--notes": notes = Value(); break;
                case "--html": html = true; break;
                case "--plateau-epsilon":
                    var e = Value();
                    if (!double.TryParse(e, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out epsilon) || !(epsilon is >= 0 and <= 1))
                        throw new ArgumentException($"--plateau-epsilon expects a number from 0 to 1, found '{e}'.");
                    break;
                case "--plateau-rounds":
                    var k = Value();
                    if (!int.TryParse(k, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out patience) || patience < 1)
                        throw new ArgumentException($"--plateau-rounds expects a whole number of at least 1, found '{k}'.");
                    break;
                default:
                    if (args[i].StartsWith('-')) throw new ArgumentException($"unknown option '{args[i]}' for report.");
                    runs.Add(args[i]);
                    break;
            }
        }
        if (runs.Count == 0) throw new ArgumentException("report needs at least one run directory.");
        return new Options(runs, outFile, title, metric, notes, epsilon, patience, html);
    }

    /// <summary>
    /// Reads the runs, writes the markdown comparison (and, where the runs have per-round figures, a PNG plot beside
    /// it) to <see cref="Options.Out"/>, and prints a one-line summary. Unfinished runs are named and left out.
    /// </summary>
    /// <param name="options">The parsed arguments.</param>
    /// <param name="commandLine">The whole command line, quoted in the report as the command that made it.</param>
    /// <param name="output">Where the summary line is written.</param>
    /// <returns><see cref="Program.Ok"/>.</returns>
    /// <exception cref="Configuration.ConfigError">The <c>--notes</c> file does not exist.</exception>
    public static int Execute(Options options, IReadOnlyList<string> commandLine, TextWriter output)
    {
        // A glob over the runs directory also matches the report written there last time: files are not runs.
        foreach (var file in options.Runs.Where(File.Exists)) output.WriteLine($"skipped {file}: a file, not a run directory");
        var runs = options.Runs.Where(r => !File.Exists(r)).Select(ReportedRun.Read).ToList();
        if (runs.Count == 0) throw new Configuration.ConfigError("report: none of the paths given is a run directory.");
        options = options with { Out = options.Out ?? DefaultOut(options.Runs) };
        var markdown = RunReport.Markdown(options.Title, runs, options.Metric, "fedactors " + string.Join(' ', commandLine));
        var directory = Path.GetDirectoryName(Path.GetFullPath(options.Out!));
        if (directory is not null) Directory.CreateDirectory(directory);
        // Fed-MAS's sections, each only where the runs have what it shows: training length against the plateau rule,
        // Welch's test of the first variant against the others, robust factors and weights per round with their plot.
        var finished = runs.Where(r => r.Finished).ToList();
        var factorsPlot = Path.ChangeExtension(options.Out!, null) + "-robust-factor.png";
        var sections = new[]
        {
            FedMasSections.TrainingLength(finished, options.PlateauEpsilon, options.PlateauRounds),
            finished.Any(r => r.ClassifierRounds.Count > 0) ? FedMasSections.Comparison(finished, "balanced_accuracy") : null,
            FedMasSections.RobustFactors(finished) is { } factors && FedMasSections.WritePlot(factorsPlot, finished)
                ? factors + $"Robust factor of each hospital per round, mean over seeds:\n\n![robust factor per hospital and round]({Path.GetFileName(factorsPlot)})\n"
                : null,
        }.OfType<string>().ToList();
        if (sections.Count > 0)
        {
            var at = markdown.IndexOf("\n## Runs", StringComparison.Ordinal);
            markdown = markdown[..at] + "\n" + string.Join("\n", sections).TrimEnd() + "\n" + markdown[at..];
        }
        if (options.Notes is not null)
        {
            // What the numbers mean is written by hand, kept beside the experiment, and placed after the table.
            if (!File.Exists(options.Notes)) throw new Configuration.ConfigError($"--notes {options.Notes}: no such file.");
            var table = markdown.IndexOf("\n## Runs", StringComparison.Ordinal);
            markdown = markdown[..table] + "\n" + File.ReadAllText(options.Notes).TrimEnd() + "\n" + markdown[table..];
        }
        var plot = Path.ChangeExtension(options.Out!, ".png");
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
        File.WriteAllText(options.Out!, markdown);
        var page = Path.ChangeExtension(options.Out!, ".html");
        if (options.Html) File.WriteAllText(page, HtmlReport.FromMarkdown(options.Title, markdown, Path.GetDirectoryName(Path.GetFullPath(options.Out!))!));
        output.WriteLine($"report of {runs.Count} run(s) in {RunReport.Group(runs.Where(r => r.Finished).ToList()).Count} variant(s) written to {options.Out}" +
                         (options.Html ? $" and {page}" : ""));
        return Program.Ok;
    }

    /// <summary>
    /// Where the report goes without <c>--out</c>: <c>report.md</c> in the deepest directory that holds every run directory
    /// (the runs directory, for runs of one experiment), never the working directory by default.
    /// </summary>
    /// <param name="runs">The run directories given.</param>
    public static string DefaultOut(IReadOnlyList<string> runs)
    {
        var parents = runs.Select(r => Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(r)))!
            .Split(Path.DirectorySeparatorChar)).ToList();
        var common = parents[0].TakeWhile((part, i) => parents.All(p => p.Length > i && p[i] == part)).ToArray();
        var directory = string.Join(Path.DirectorySeparatorChar, common);
        return Path.Combine(directory.Length == 0 ? Path.GetPathRoot(Path.GetFullPath(runs[0]))! : directory, "report.md");
    }
}
