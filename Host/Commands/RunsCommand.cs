using System.Globalization;
using FedActors.Host.Configuration;
using FedActors.Host.Runs;

namespace FedActors.Host.Commands;

/// <summary>
/// <c>fedactors runs [--runs-dir DIR]</c>: every run directory under the runs directory with its status (completed, failed,
/// interrupted-resumable, no-checkpoint), method, seed, rounds done of planned and final figure.
/// </summary>
public static class RunsCommand
{
    /// <summary>One run directory as listed.</summary>
    /// <param name="Directory">The run directory's path.</param>
    /// <param name="Status">One of <see cref="RunStatus"/>'s constants.</param>
    /// <param name="Method">The run's <c>method</c>, or <c>?</c> without a resolved.conf.</param>
    /// <param name="Seed">The run's <c>seed</c>, or <c>?</c>.</param>
    /// <param name="RoundsDone">Rows of metrics.csv: rounds completed.</param>
    /// <param name="RoundsPlanned">The run's <c>rounds.count</c>, or <c>?</c>.</param>
    /// <param name="Final">The final figure (<c>accuracy 0.704</c>: evaluation.csv's final encoder on the test split, else metrics.csv's last probe), or <c>–</c>.</param>
    /// <param name="Note">A failed run's error line, or how to resume an interrupted one; empty otherwise.</param>
    public sealed record Entry(string Directory, string Status, string Method, string Seed, int RoundsDone, string RoundsPlanned, string Final, string Note);

    /// <summary>Parses <c>[--runs-dir DIR]</c>; null without it (the embedded default's <c>runs-dir</c>).</summary>
    /// <param name="args">The arguments after <c>runs</c>.</param>
    /// <exception cref="ArgumentException">An unknown option, or <c>--runs-dir</c> without its value.</exception>
    public static string? Parse(IReadOnlyList<string> args)
    {
        string? dir = null;
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--runs-dir" && i + 1 < args.Count) dir = args[++i];
            else if (args[i] == "--runs-dir") throw new ArgumentException("--runs-dir needs a directory.");
            else throw new ArgumentException($"unknown argument '{args[i]}' for runs.");
        }
        return dir;
    }

    /// <summary>The run directories under <paramref name="runsDirectory"/> (those holding a resolved.conf, metrics.csv or failed.txt), by name.</summary>
    /// <param name="runsDirectory">The runs directory.</param>
    /// <exception cref="ConfigError">The directory does not exist.</exception>
    public static IReadOnlyList<Entry> List(string runsDirectory)
    {
        if (!System.IO.Directory.Exists(runsDirectory)) throw new ConfigError($"--runs-dir {runsDirectory}: no such directory.");
        return System.IO.Directory.EnumerateDirectories(runsDirectory).Order(StringComparer.Ordinal)
            .Where(d => new[] { RunDirectory.ResolvedConfigFile, RunDirectory.MetricsFile, RunStatus.FailedFile }.Any(f => File.Exists(Path.Combine(d, f))))
            .Select(Read).ToList();
    }

    private static Entry Read(string dir)
    {
        var resolved = Path.Combine(dir, RunDirectory.ResolvedConfigFile);
        IReadOnlyDictionary<string, string> config = new Dictionary<string, string>();
        if (File.Exists(resolved))
        {
            try { config = ExperimentConfig.Flatten(File.ReadAllText(resolved), resolved); }
            catch (Exception e) when (e is not OutOfMemoryException) { /* listed with ? for what it cannot tell */ }
        }
        var metrics = Path.Combine(dir, RunDirectory.MetricsFile);
        var rows = File.Exists(metrics) ? Csv(metrics) : [];
        var status = RunStatus.Of(dir);
        var note = status switch
        {
            RunStatus.Failed => RunStatus.FailureOf(dir) ?? "",
            RunStatus.Resumable => $"continue with: fedactors run --resume {dir}",
            _ => "",
        };
        return new Entry(dir, status, config.GetValueOrDefault("fedactors.method", "?"), config.GetValueOrDefault("fedactors.seed", "?"), rows.Count,
            config.GetValueOrDefault("fedactors.rounds.count", "?"), Final(dir, rows), note);
    }

    /// <summary>evaluation.csv's final encoder on the test split (its first such row), else the last probed round of metrics.csv.</summary>
    private static string Final(string dir, List<Dictionary<string, string>> rounds)
    {
        var evaluation = Path.Combine(dir, RunDirectory.EvaluationFile);
        if (File.Exists(evaluation))
        {
            var row = Csv(evaluation).FirstOrDefault(e => e.GetValueOrDefault("encoder", "final") == "final" && e.GetValueOrDefault("split", "test") == "test"
                                                          && e.GetValueOrDefault("protocol") != "majority-class");
            foreach (var figure in new[] { "accuracy", "dice" })
                if (row is not null && Number(row, figure) is var v && double.IsFinite(v))
                    return string.Create(CultureInfo.InvariantCulture, $"{figure} {v:F3} ({row.GetValueOrDefault("protocol", "?")})");
        }
        var probed = rounds.Select(r => Number(r, EvaluationKeys.ProbeAccuracy)).LastOrDefault(double.IsFinite, double.NaN);
        return double.IsFinite(probed) ? string.Create(CultureInfo.InvariantCulture, $"probe {probed:F3}") : "–";
    }

    private static double Number(IReadOnlyDictionary<string, string> row, string column) =>
        row.TryGetValue(column, out var text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN;

    private static List<Dictionary<string, string>> Csv(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (lines.Count == 0) return [];
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal)).ToList();
    }

    /// <summary>Prints the runs under <paramref name="runsDirectory"/> (null: the embedded default's <c>runs-dir</c>) as a table, one line each.</summary>
    /// <param name="runsDirectory">The runs directory, or null.</param>
    /// <param name="output">Where the table is written.</param>
    /// <returns><see cref="Program.Ok"/>.</returns>
    public static int Execute(string? runsDirectory, TextWriter output)
    {
        var dir = runsDirectory ?? ExperimentConfig.Load(null, []).Host.RunsDirectory;
        var entries = List(dir);
        if (entries.Count == 0)
        {
            output.WriteLine($"no run directories in {dir}");
            return Program.Ok;
        }
        var rows = entries.Select(e => new[] { Path.GetFileName(e.Directory), e.Status, e.Method, e.Seed, $"{e.RoundsDone}/{e.RoundsPlanned}", e.Final, e.Note }).ToList();
        var header = new[] { "run", "status", "method", "seed", "rounds", "final", "note" };
        var widths = header.Select((h, i) => rows.Select(r => r[i].Length).Append(h.Length).Max()).ToArray();
        foreach (var row in rows.Prepend(header))
            output.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        output.WriteLine($"{entries.Count} run(s) in {dir}: " + string.Join(", ", entries.GroupBy(e => e.Status).Select(g => $"{g.Count()} {g.Key}")));
        return Program.Ok;
    }
}
