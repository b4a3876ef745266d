using System.Text.Json;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using FedActors.Host.Runs;
using FedActors.Training.Weights;

namespace FedActors.Testing;

/// <summary>
/// What a <see cref="Simulation"/> did, for a test to assert on: every round (<see cref="Rounds"/>,
/// <see cref="Round"/>), the final global model and its hash, and the run's events in order. It owns the run's
/// temporary directory, deleted by <see cref="DisposeAsync"/> unless <see cref="Simulation.KeepFiles"/> was asked for.
/// </summary>
public sealed class SimulationRun : IAsyncDisposable
{
    private readonly string _root;
    private readonly bool _keepFiles;

    internal SimulationRun(RunResult result, string root, bool keepFiles)
    {
        _root = root;
        _keepFiles = keepFiles;
        Directory = result.Directory.Path;
        FinalModel = result.Completed.FinalGlobal;
        Events = ReadEvents(Path.Combine(Directory, RunDirectory.EventsFile));
        Rounds = result.Completed.Rounds.Select(s => new RoundReport(s, Events.Where(e => e.Round == s.Round).ToList())).ToList();
    }

    /// <summary>The run's directory (metrics.csv, events.jsonl, checkpoints…), inside the temporary directory this result owns.</summary>
    public string Directory { get; }

    /// <summary>Every round, in order: <c>Rounds[0]</c> is round 1.</summary>
    public IReadOnlyList<RoundReport> Rounds { get; }

    /// <summary>Round <paramref name="round"/> (from 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The run had no such round.</exception>
    public RoundReport Round(int round) => round >= 1 && round <= Rounds.Count
        ? Rounds[round - 1]
        : throw new ArgumentOutOfRangeException(nameof(round), round, $"the run had rounds 1 to {Rounds.Count}");

    /// <summary>The global model the last round left.</summary>
    public ModelWeights FinalModel { get; }

    /// <summary>The content hash of <see cref="FinalModel"/>: equal for two runs of the same config and seed on CPU.</summary>
    public string FinalModelHash => FinalModel.ContentHash;

    /// <summary>
    /// The run's events in the order they were published (<c>events.jsonl</c>): selections, faults that fired, each
    /// selected hospital's outcome, retries, skips, crashes and recoveries. A non-finite simulated time reads as NaN.
    /// </summary>
    public IReadOnlyList<RunEvent> Events { get; }

    /// <summary>Bytes moved over the whole run, both ways.</summary>
    public long BytesMoved => Rounds.Sum(r => r.BytesDown + r.BytesUp);

    /// <summary>Deletes the run's temporary directory, unless <see cref="Simulation.KeepFiles"/> was asked for.</summary>
    public ValueTask DisposeAsync()
    {
        if (!_keepFiles) DeleteDirectory(_root);
        return ValueTask.CompletedTask;
    }

    internal static void DeleteDirectory(string path)
    {
        if (System.IO.Directory.Exists(path)) System.IO.Directory.Delete(path, recursive: true);
    }

    private static List<RunEvent> ReadEvents(string path) =>
        File.ReadLines(path).Where(l => l.Length > 0).Select(line =>
        {
            using var json = JsonDocument.Parse(line);
            var e = json.RootElement;
            var hospital = e.GetProperty("hospital");
            var seconds = e.GetProperty("sim_s");
            return new RunEvent(e.GetProperty("round").GetInt32(), e.GetProperty("attempt").GetInt32(), e.GetProperty("kind").GetString()!,
                hospital.ValueKind == JsonValueKind.Null ? null : hospital.GetString(), e.GetProperty("reason").GetString() ?? "",
                seconds.ValueKind == JsonValueKind.Null ? double.NaN : seconds.GetDouble());
        }).ToList();
}

/// <summary>
/// One round of a <see cref="SimulationRun"/>: who was selected and what became of each. Every selected hospital is in
/// exactly one of <see cref="Accepted"/>, <see cref="Dropped"/>, <see cref="Lost"/>, <see cref="Late"/>,
/// <see cref="Rejected"/> and <see cref="Surplus"/>; every list is sorted by hospital id (ordinal).
/// </summary>
public sealed class RoundReport
{
    internal RoundReport(RoundSummary summary, IReadOnlyList<RunEvent> events)
    {
        Summary = summary;
        Events = events;
    }

    /// <summary>The round's summary as the coordinator recorded it (metrics.csv), for what this report does not name.</summary>
    public RoundSummary Summary { get; }

    /// <summary>The round, from 1.</summary>
    public int Number => Summary.Round;

    /// <summary>Every hospital selected in any attempt of the round, sorted by id.</summary>
    public IReadOnlyList<string> Selected => Summary.Selected;

    /// <summary>Selected hospitals whose update arrived on time and passed every check, sorted by id.</summary>
    public IReadOnlyList<string> Accepted => Summary.Accepted;

    /// <summary>Hospitals whose update is in the new global model, sorted by id: <see cref="Accepted"/>, or none when <see cref="Skipped"/>.</summary>
    public IReadOnlyList<string> Aggregated => Summary.Aggregated;

    /// <summary>Selected hospitals that failed and sent nothing usable (a drop, offline on the availability trace, the wall-clock timeout), sorted by id.</summary>
    public IReadOnlyList<string> Dropped => Summary.Dropped;

    /// <summary>Selected hospitals whose request or upload was lost in transit, sorted by id.</summary>
    public IReadOnlyList<string> Lost => Summary.Lost;

    /// <summary>Selected hospitals whose update arrived after the simulated deadline, sorted by id.</summary>
    public IReadOnlyList<string> Late => Summary.Late;

    /// <summary>Selected hospitals whose update failed a check (NaN or Inf, norm bound, layout, hash, the method's check), sorted by id.</summary>
    public IReadOnlyList<string> Rejected => Summary.Rejected;

    /// <summary>Selected hospitals on time but not among the first k to finish (over-selection), sorted by id.</summary>
    public IReadOnlyList<string> Surplus => Summary.Surplus;

    /// <summary>Too few updates were accepted: the global model was kept.</summary>
    public bool Skipped => Summary.Skipped;

    /// <summary>The weight each aggregated hospital's upload got, summing to 1; empty when the round was skipped. Never null.</summary>
    public IReadOnlyDictionary<string, double> AggregationWeights => Summary.AggregationWeights;

    /// <summary>Bytes sent to hospitals this round (the global model and the method's broadcast).</summary>
    public long BytesDown => Summary.BytesDown;

    /// <summary>Bytes of the updates received this round.</summary>
    public long BytesUp => Summary.BytesUp;

    /// <summary>The content hash of the global model the round left.</summary>
    public string GlobalHash => Summary.GlobalHash;

    /// <summary>The round's events, in the order they were published.</summary>
    public IReadOnlyList<RunEvent> Events { get; }

    /// <summary>What became of <paramref name="hospitalId"/>'s update this round.</summary>
    /// <exception cref="ArgumentException">It was not selected this round.</exception>
    public UpdateOutcome OutcomeOf(string hospitalId)
    {
        (IReadOnlyList<string> Ids, UpdateOutcome Outcome)[] outcomes =
        [
            (Accepted, UpdateOutcome.Accepted), (Dropped, UpdateOutcome.Dropped), (Lost, UpdateOutcome.Lost),
            (Late, UpdateOutcome.Late), (Rejected, UpdateOutcome.Rejected), (Surplus, UpdateOutcome.Surplus),
        ];
        foreach (var (ids, outcome) in outcomes)
            if (ids.Contains(hospitalId, StringComparer.Ordinal)) return outcome;
        throw new ArgumentException($"'{hospitalId}' was not selected in round {Number} (selected: {string.Join(", ", Selected)})", nameof(hospitalId));
    }

    /// <summary>The reason given with <paramref name="hospitalId"/>'s outcome this round (e.g. why its update was rejected).</summary>
    /// <exception cref="ArgumentException">It was not selected this round.</exception>
    public string ReasonFor(string hospitalId)
    {
        var kind = OutcomeOf(hospitalId).ToString().ToLowerInvariant();
        // The last: a coordinator that crashed reran the round, and its outcomes are the ones that count.
        return Events.Last(e => e.HospitalId == hospitalId && e.Kind == kind).Reason;
    }
}
