using System.Globalization;
using System.Text;
using System.Text.Json;
using FedActors.Actors.Protocol;
using FedActors.Host.Runs;

namespace FedActors.Host.Reports;

/// <summary>
/// Self-contained HTML reports, one file each with nothing fetched from elsewhere (plots embedded as base64 PNG, no
/// script): a run's (<see cref="RunFile"/> in its directory: its rounds, evaluation, plots, events timeline with faults
/// marked, resolved config) and a comparison's (<c>fedactors report --html</c>: the markdown report's tables and plots).
/// </summary>
public static class HtmlReport
{
    /// <summary>The file name of a run's own report, in its run directory.</summary>
    public const string RunFile = "report.html";

    /// <summary>At most this many fault events are listed one by one in a run's timeline; the rest are counted.</summary>
    public const int MaxListedFaults = 1000;

    /// <summary>Event kinds the timeline marks as faults: every outcome but accepted, and every event of something going wrong.</summary>
    public static readonly IReadOnlySet<string> FaultKinds = new HashSet<string>(StringComparer.Ordinal)
    {
        RunEventKinds.Dropped, RunEventKinds.Lost, RunEventKinds.Late, RunEventKinds.Rejected, "slowed", "delayed", "fetch-failed", "retry",
        "round-skipped", "worker-crash", RunEventKinds.NodeLost, RunEventKinds.HospitalMoved, RunEventKinds.HospitalRestored,
        "coordinator-crash", "coordinator-recovered", "stale", "unexpected", "duplicate",
    };

    private const string Style = """
        body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
        th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: right; }
        th { background: #eee; }
        td.text, th.text { text-align: left; }
        tr.fault td { background: #fde2e1; }
        figure { margin: 1em 0; }
        img { max-width: 100%; border: 1px solid #ccc; }
        pre { background: #f6f6f6; padding: 1em; overflow-x: auto; font-size: 0.85em; }
        """;

    /// <summary>Writes the run's report (<see cref="Run"/>) to <c>RUN_DIR/report.html</c> and returns its path.</summary>
    /// <param name="runDirectory">A run directory, its plots already drawn.</param>
    public static string WriteRun(string runDirectory)
    {
        var file = Path.Combine(runDirectory, RunFile);
        File.WriteAllText(file, Run(runDirectory));
        return file;
    }

    /// <summary>
    /// A run's page: what ran (method, seed, rounds, status), its plots, its rounds (metrics.csv), its end-of-run figures
    /// (evaluation.csv), the events timeline (per round, each kind counted; then each fault event, marked), and resolved.conf.
    /// </summary>
    /// <param name="runDirectory">A run directory.</param>
    public static string Run(string runDirectory)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(runDirectory));
        var config = ReadText(Path.Combine(runDirectory, RunDirectory.ResolvedConfigFile));
        var flat = config is null ? new Dictionary<string, string>() : Configuration.ExperimentConfig.Flatten(config, RunDirectory.ResolvedConfigFile);
        var metrics = Csv(Path.Combine(runDirectory, RunDirectory.MetricsFile));
        var html = Begin($"FedActors run {name}");
        html.Append("<p>").Append(E($"method {flat.GetValueOrDefault("fedactors.method", "?")}, seed {flat.GetValueOrDefault("fedactors.seed", "?")}, " +
                                    $"{metrics.Count} of {flat.GetValueOrDefault("fedactors.rounds.count", "?")} rounds, {flat.GetValueOrDefault("fedactors.data.hospitals", "?")} hospitals; " +
                                    $"status {RunStatus.Of(runDirectory)}")).Append("</p>\n");
        if (RunStatus.FailureOf(runDirectory) is { } failure) html.Append("<p class=\"failure\">").Append(E(failure)).Append("</p>\n");

        var plots = Path.Combine(runDirectory, RunPlots.Directory);
        var images = Directory.Exists(plots) ? Directory.GetFiles(plots, "*.png").Order(StringComparer.Ordinal).ToList() : [];
        if (images.Count > 0)
        {
            html.Append("<h2>Plots</h2>\n");
            foreach (var image in images) Figure(html, image, Path.GetFileName(image));
        }

        string[] roundColumns =
        [
            "round", "selected", "accepted", "dropped", "lost", "late", "rejected", "surplus", "skipped", "mean_loss", "bytes_down", "bytes_up",
            "wall_seconds", "sim_seconds", "local_steps", EvaluationKeys.ProbeAccuracy, EvaluationKeys.ProbeBalancedAccuracy,
        ];
        if (metrics.Count > 0)
        {
            html.Append("<h2>Rounds</h2>\n");
            Table(html, roundColumns.Where(c => metrics[0].ContainsKey(c)).ToList(), metrics);
        }
        var evaluation = Csv(Path.Combine(runDirectory, RunDirectory.EvaluationFile));
        if (evaluation.Count > 0)
        {
            html.Append("<h2>Evaluation</h2>\n");
            Table(html, evaluation[0].Keys.ToList(), evaluation);
        }
        Timeline(html, Path.Combine(runDirectory, RunDirectory.EventsFile));
        if (config is not null) html.Append("<h2>Resolved configuration</h2>\n<pre>").Append(E(config)).Append("</pre>\n");
        return End(html);
    }

    /// <summary>
    /// A comparison's page from the markdown report <c>fedactors report</c> wrote: headings, paragraphs, tables and code
    /// blocks as HTML, each <c>![alt](file.png)</c> embedded from <paramref name="baseDirectory"/>.
    /// </summary>
    /// <param name="title">The page title.</param>
    /// <param name="markdown">The report's markdown.</param>
    /// <param name="baseDirectory">The directory its images are relative to (the markdown file's).</param>
    public static string FromMarkdown(string title, string markdown, string baseDirectory)
    {
        var html = Begin(title);
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var paragraph = new List<string>();
        void Flush()
        {
            if (paragraph.Count > 0) html.Append("<p>").Append(Inline(string.Join(' ', paragraph))).Append("</p>\n");
            paragraph.Clear();
        }
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                Flush();
                var code = new List<string>();
                for (i++; i < lines.Length && !lines[i].StartsWith("```", StringComparison.Ordinal); i++) code.Add(lines[i]);
                html.Append("<pre>").Append(E(string.Join('\n', code))).Append("</pre>\n");
            }
            else if (line.StartsWith('#'))
            {
                Flush();
                var level = Math.Min(6, line.TakeWhile(c => c == '#').Count());
                if (line.Length > level && line[level] == ' ' && !(level == 1 && i == FirstHeading(lines)))
                    html.Append($"<h{level}>").Append(Inline(line[(level + 1)..])).Append($"</h{level}>\n");
            }
            else if (line.StartsWith('|'))
            {
                Flush();
                var rows = new List<string[]>();
                for (; i < lines.Length && lines[i].StartsWith('|'); i++)
                    if (!lines[i].StartsWith("|---", StringComparison.Ordinal) && !lines[i].StartsWith("| ---", StringComparison.Ordinal))
                        rows.Add(lines[i].Trim().Trim('|').Split(" | ").Select(c => c.Trim()).ToArray());
                i--;
                html.Append("<table>\n<tr>").Append(string.Concat(rows[0].Select(c => $"<th class=\"text\">{Inline(c)}</th>"))).Append("</tr>\n");
                foreach (var row in rows.Skip(1))
                    html.Append("<tr>").Append(string.Concat(row.Select((c, j) => $"<td{(j == 0 ? " class=\"text\"" : "")}>{Inline(c)}</td>"))).Append("</tr>\n");
                html.Append("</table>\n");
            }
            else if (line.StartsWith("![", StringComparison.Ordinal) && line.IndexOf("](", StringComparison.Ordinal) is var at and > 0 && line.EndsWith(')'))
            {
                Flush();
                var file = Path.Combine(baseDirectory, line[(at + 2)..^1]);
                if (File.Exists(file)) Figure(html, file, line[2..at]);
                else html.Append("<p>").Append(E($"(plot {line[(at + 2)..^1]} not found)")).Append("</p>\n");
            }
            else if (line.Trim().Length == 0) Flush();
            else paragraph.Add(line.Trim());
        }
        Flush();
        return End(html);
    }

    private static int FirstHeading(string[] lines) => Array.FindIndex(lines, l => l.StartsWith("# ", StringComparison.Ordinal));

    /// <summary>Per round, each event kind counted (faults in bold); then each fault event as a marked row.</summary>
    private static void Timeline(StringBuilder html, string eventsFile)
    {
        if (!File.Exists(eventsFile)) return;
        var events = new List<(int Round, int Attempt, string Kind, string? Hospital, string Reason, string Sim)>();
        foreach (var line in File.ReadLines(eventsFile).Where(l => l.Length > 0))
        {
            using var json = JsonDocument.Parse(line);
            var e = json.RootElement;
            string Text(string p) => e.TryGetProperty(p, out var v) ? v.ValueKind switch
            {
                JsonValueKind.String => v.GetString()!,
                JsonValueKind.Number => v.GetDouble().ToString("G6", CultureInfo.InvariantCulture),
                _ => "",
            } : "";
            events.Add((e.GetProperty("round").GetInt32(), e.TryGetProperty("attempt", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetInt32() : 1,
                e.GetProperty("kind").GetString()!, e.TryGetProperty("hospital", out var h) ? h.GetString() : null, Text("reason"), Text("sim_s")));
        }
        html.Append("<h2>Events timeline</h2>\n<p>Each round's events by kind; faults (every outcome but accepted, and what went wrong) in bold, and listed one by one below.</p>\n<table>\n<tr><th>round</th><th class=\"text\">events</th></tr>\n");
        foreach (var round in events.GroupBy(e => e.Round).OrderBy(g => g.Key))
        {
            var kinds = round.GroupBy(e => e.Kind).Select(g => FaultKinds.Contains(g.Key) ? $"<b>{E(g.Key)} {g.Count()}</b>" : $"{E(g.Key)} {g.Count()}");
            html.Append($"<tr{(round.Any(e => FaultKinds.Contains(e.Kind)) ? " class=\"fault\"" : "")}><td>{round.Key}</td><td class=\"text\">{string.Join(", ", kinds)}</td></tr>\n");
        }
        html.Append("</table>\n");
        var faults = events.Where(e => FaultKinds.Contains(e.Kind)).ToList();
        if (faults.Count == 0)
        {
            html.Append("<p>No faults.</p>\n");
            return;
        }
        html.Append("<h3>Faults</h3>\n<table>\n<tr><th>round</th><th>attempt</th><th class=\"text\">kind</th><th class=\"text\">hospital</th><th class=\"text\">reason</th><th>sim s</th></tr>\n");
        foreach (var f in faults.Take(MaxListedFaults))
            html.Append($"<tr class=\"fault\"><td>{f.Round}</td><td>{f.Attempt}</td><td class=\"text\">{E(f.Kind)}</td><td class=\"text\">{E(f.Hospital ?? "(round)")}</td><td class=\"text\">{E(f.Reason)}</td><td>{E(f.Sim)}</td></tr>\n");
        html.Append("</table>\n");
        if (faults.Count > MaxListedFaults) html.Append($"<p>… and {faults.Count - MaxListedFaults} more fault events (events.jsonl has them all).</p>\n");
    }

    private static void Figure(StringBuilder html, string png, string caption) =>
        html.Append("<figure><img alt=\"").Append(E(caption)).Append("\" src=\"data:image/png;base64,").Append(Convert.ToBase64String(File.ReadAllBytes(png)))
            .Append("\"><figcaption>").Append(E(caption)).Append("</figcaption></figure>\n");

    private static void Table(StringBuilder html, IReadOnlyList<string> columns, IReadOnlyList<Dictionary<string, string>> rows)
    {
        html.Append("<table>\n<tr>").Append(string.Concat(columns.Select(c => $"<th>{E(c.Replace('_', ' '))}</th>"))).Append("</tr>\n");
        foreach (var row in rows)
            html.Append("<tr>").Append(string.Concat(columns.Select(c => $"<td>{E(row.GetValueOrDefault(c, ""))}</td>"))).Append("</tr>\n");
        html.Append("</table>\n");
    }

    private static StringBuilder Begin(string title) =>
        new StringBuilder().Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title))
            .Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n<h1>").Append(E(title)).Append("</h1>\n");

    private static string End(StringBuilder html) => html.Append("</body>\n</html>\n").ToString();

    /// <summary>Escapes the four characters HTML needs escaped; the page is UTF-8, so ±, → and the like stay as they are.</summary>
    private static string E(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");

    /// <summary>Markdown's inline code (<c>`x`</c>) and bold (<c>**x**</c>) as HTML; everything else escaped.</summary>
    private static string Inline(string text)
    {
        var parts = E(text).Split('`');
        var html = string.Concat(parts.Select((p, i) => i % 2 == 1 ? $"<code>{p}</code>" : p));
        return System.Text.RegularExpressions.Regex.Replace(html, @"\*\*(.+?)\*\*", "<b>$1</b>");
    }

    private static string? ReadText(string file) => File.Exists(file) ? File.ReadAllText(file) : null;

    private static List<Dictionary<string, string>> Csv(string path)
    {
        if (!File.Exists(path)) return [];
        var lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToList();
        if (lines.Count < 2) return [];
        var header = lines[0].Split(',');
        return lines.Skip(1).Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal)).ToList();
    }
}
