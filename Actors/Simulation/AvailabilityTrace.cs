using System.Globalization;
using FedActors.Training.Data;
using FedActors.Training.Data.Formats;

namespace FedActors.Actors.Simulation;

/// <summary>One interval of the simulated clock, [Start, End) seconds, during which a hospital is on.</summary>
/// <param name="Start">When the hospital comes on, in simulated seconds (inclusive).</param>
/// <param name="End">When it goes off, in simulated seconds (exclusive).</param>
public sealed record OnInterval(double Start, double End);

/// <summary>
/// When hospitals are on, on the simulated clock: per hospital, the intervals in which it is
/// available. A hospital the trace does not name is always on. A hospital is selected only
/// while on, and an update it would deliver after its interval ends is lost (it went offline).
/// </summary>
public sealed class AvailabilityTrace
{
    private readonly Dictionary<string, List<OnInterval>> _intervals;

    private readonly Dictionary<string, double> _periods = new();

    /// <summary>A trace of each named hospital's on-intervals; <paramref name="source"/> names it in errors.</summary>
    public AvailabilityTrace(IReadOnlyDictionary<string, IReadOnlyList<OnInterval>> intervals, string source = "availability trace")
        : this(intervals, null, source)
    {
    }

    /// <summary>
    /// A trace in which a hospital given a period repeats its intervals every period seconds: it is on
    /// at t when t mod period lies in one of its intervals, which must then lie within [0, period].
    /// (FedScale's behaviour traces repeat so, modulo each client's finish_time.)
    /// </summary>
    public AvailabilityTrace(IReadOnlyDictionary<string, IReadOnlyList<OnInterval>> intervals, IReadOnlyDictionary<string, double>? periods, string source = "availability trace")
    {
        _intervals = new Dictionary<string, List<OnInterval>>();
        foreach (var (hospital, list) in intervals)
        {
            foreach (var i in list)
                if (!(i.Start >= 0 && i.End > i.Start && double.IsFinite(i.Start)))
                    throw new ArgumentException($"{source}: hospital '{hospital}': interval [{i.Start}, {i.End}) must have 0 <= start < end");
            _intervals[hospital] = list.OrderBy(i => i.Start).ToList();
        }
        foreach (var (hospital, period) in periods ?? new Dictionary<string, double>())
        {
            if (!(period > 0 && double.IsFinite(period)))
                throw new ArgumentException($"{source}: hospital '{hospital}': period {period} must be finite and > 0");
            if (!_intervals.TryGetValue(hospital, out var list))
                throw new ArgumentException($"{source}: hospital '{hospital}' has a period but no intervals");
            if (list.FirstOrDefault(i => i.End > period) is { } beyond)
                throw new ArgumentException($"{source}: hospital '{hospital}': interval [{beyond.Start}, {beyond.End}) goes beyond its period {period}");
            _periods[hospital] = period;
        }
        Source = source;
    }

    /// <summary>No trace: every hospital always on.</summary>
    public static AvailabilityTrace AlwaysOn { get; } = new(new Dictionary<string, IReadOnlyList<OnInterval>>(), "no trace");

    /// <summary>What the trace was read from (a file path, or <c>no trace</c>), as named in errors and logs.</summary>
    public string Source { get; }

    /// <summary>The hospitals the trace names; any other hospital is always on.</summary>
    public IReadOnlyCollection<string> TracedHospitals => _intervals.Keys;

    /// <summary>Whether <paramref name="hospitalId"/> is on at <paramref name="simulatedSeconds"/> on the simulated clock (always, when untraced).</summary>
    /// <param name="hospitalId">The hospital.</param>
    /// <param name="simulatedSeconds">The time on the simulated clock, in seconds.</param>
    public bool IsOn(string hospitalId, double simulatedSeconds) => OnUntil(hospitalId, simulatedSeconds) is not null;

    /// <summary>Where the hospital is on at <paramref name="simulatedSeconds"/>: when that stretch of availability ends (+∞ when untraced); null when off.</summary>
    public double? OnUntil(string hospitalId, double simulatedSeconds)
    {
        if (!_intervals.TryGetValue(hospitalId, out var list)) return double.PositiveInfinity;
        if (!_periods.TryGetValue(hospitalId, out var period)) return StretchEnd(list, simulatedSeconds);
        var local = simulatedSeconds - Math.Floor(simulatedSeconds / period) * period;
        if (local >= period) local = 0; // rounding
        var start = simulatedSeconds - local;
        if (StretchEnd(list, local) is not { } end) return null;
        if (end < period) return start + end;
        // On until the period ends: it stays on when the next period starts on.
        if (StretchEnd(list, 0) is not { } next) return start + period;
        return next >= period ? double.PositiveInfinity : start + period + next;
    }

    private static double? StretchEnd(List<OnInterval> list, double simulatedSeconds)
    {
        double? until = null;
        foreach (var i in list)
        {
            // Touching or overlapping intervals make one stretch.
            if (until is { } u && i.Start <= u) until = Math.Max(u, i.End);
            else if (i.Start <= simulatedSeconds && simulatedSeconds < i.End) until = i.End;
            else if (i.Start > simulatedSeconds) break;
        }
        return until;
    }

    /// <summary>
    /// Reads a CSV with header <c>hospital,start_s,end_s</c>, one on-interval per row; every
    /// problem names the file and the line. <paramref name="knownHospitals"/>, when given,
    /// rejects rows for hospitals the experiment does not have.
    /// </summary>
    public static AvailabilityTrace Load(string path, IReadOnlyCollection<string>? knownHospitals = null)
    {
        var table = CsvTable.Read(path);
        var (hospitalColumn, startColumn, endColumn) = (table.Column("hospital"), table.Column("start_s"), table.Column("end_s"));
        var intervals = new Dictionary<string, List<OnInterval>>();
        foreach (var (line, fields) in table.Rows)
        {
            var hospital = fields[hospitalColumn];
            if (hospital.Length == 0) throw new DataFormatException(path, $"line {line}, hospital", "is empty");
            if (knownHospitals is not null && !knownHospitals.Contains(hospital))
                throw new DataFormatException(path, $"line {line}, hospital", $"'{hospital}' is not a hospital of this experiment");
            double Seconds(int column, string name)
            {
                if (!double.TryParse(fields[column], NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !double.IsFinite(v) || v < 0)
                    throw new DataFormatException(path, $"line {line}, {name}", $"must be a number of seconds >= 0, found '{fields[column]}'");
                return v;
            }
            var (start, end) = (Seconds(startColumn, "start_s"), Seconds(endColumn, "end_s"));
            if (end <= start) throw new DataFormatException(path, $"line {line}, end_s", $"{end} is not after start_s {start}");
            (intervals.TryGetValue(hospital, out var list) ? list : intervals[hospital] = new List<OnInterval>()).Add(new OnInterval(start, end));
        }
        return new AvailabilityTrace(intervals.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<OnInterval>)kv.Value), path);
    }
}
