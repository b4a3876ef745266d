using System.Globalization;
using FedActors.Actors.Protocol;

namespace FedActors.Host.Runs;

/// <summary>
/// The status line a terminal shows under the round lines: a round bar, hospitals training, done
/// and dropped in the open round, the last loss and the time left, redrawn in place. Only for a
/// terminal: logs and CI get the plain round lines alone.
/// </summary>
/// <param name="terminal">The terminal's writer, redrawn in place with ANSI escapes.</param>
/// <param name="totalRounds">The run's number of rounds.</param>
/// <param name="width">The round bar's width in characters.</param>
public sealed class LiveProgress(TextWriter terminal, int totalRounds, int width = 24)
{
    private const string ClearLine = "\r\u001b[2K";
    private readonly List<double> _roundSeconds = new();
    private RoundProgress? _current;
    private double? _loss;
    private bool _shown;

    /// <summary>Whether <see cref="Console.Out"/> is a terminal that can redraw a line.</summary>
    public static bool ConsoleIsTerminal => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") is not (null or "dumb");

    /// <summary>Redraws the status line with the open round's counts.</summary>
    /// <param name="progress">The coordinator's latest progress report of the open round.</param>
    public void Update(RoundProgress progress)
    {
        _current = progress;
        Draw();
    }

    /// <summary>Prints a permanent line above the status line, then redraws it.</summary>
    public void Permanent(string line)
    {
        Clear();
        terminal.WriteLine(line);
        if (_current is not null) Draw();
    }

    /// <summary>Records a closed round's wall time (for the time left) and mean loss; the line is redrawn by the next <see cref="Update"/> or <see cref="Permanent"/>.</summary>
    /// <param name="summary">The closed round.</param>
    public void RoundClosed(RoundSummary summary)
    {
        _roundSeconds.Add(summary.WallSeconds);
        if (double.IsFinite(summary.MeanLoss)) _loss = summary.MeanLoss;
        _current = null;
    }

    /// <summary>Erases the status line if it is shown (before the run's final output).</summary>
    public void Clear()
    {
        if (!_shown) return;
        terminal.Write(ClearLine);
        terminal.Flush();
        _shown = false;
    }

    /// <summary>
    /// The status line's text: <c>round 3/10 [#####....]  training 2  done 5  dropped 1  of 8  loss 0.1234  ETA 4m05s</c>;
    /// the time left is the mean closed round's wall time times the rounds left.
    /// </summary>
    public string Render()
    {
        var p = _current;
        var done = _roundSeconds.Count;
        var filled = totalRounds == 0 ? 0 : (int)Math.Round(width * (double)done / totalRounds);
        var line = $"round {(p?.Round ?? done + 1)}/{totalRounds} [{new string('#', filled)}{new string('.', width - filled)}]";
        if (p is not null) line += $"  training {p.Training}  done {p.Accepted}  dropped {p.Dropped}  of {p.Selected}";
        if (_loss is { } loss) line += string.Create(CultureInfo.InvariantCulture, $"  loss {loss:F4}");
        line += "  ETA " + (done == 0 ? "…" : Duration(_roundSeconds.Average() * (totalRounds - done)));
        return line;
    }

    private void Draw()
    {
        terminal.Write(ClearLine + Render());
        terminal.Flush();
        _shown = true;
    }

    /// <summary>A short duration, rounded to whole seconds: <c>42s</c>, <c>4m05s</c>, <c>1h07m</c>; negative counts as zero.</summary>
    /// <param name="seconds">The duration in seconds.</param>
    public static string Duration(double seconds)
    {
        var t = TimeSpan.FromSeconds(Math.Max(0, Math.Round(seconds)));
        return t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m" : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{t.Seconds}s";
    }
}
