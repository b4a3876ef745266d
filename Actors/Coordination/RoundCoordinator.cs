using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Protocol;
using FedActors.Training.Aggregation;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Actors.Coordination;

/// <summary>Evaluates a global model; returns named figures (e.g. probe accuracy).</summary>
public delegate IReadOnlyDictionary<string, double> GlobalModelEvaluator(ModelWeights global, int round);

/// <summary>
/// Runs the rounds: selects participants, sends them the global weights, collects their
/// updates until all have answered or the deadline passes with enough of them, averages
/// them weighted by sample count (FedAvg), evaluates, and reports each round. Replies for
/// a closed round, duplicates and malformed updates are dropped and counted.
/// </summary>
public sealed class RoundCoordinator : ReceiveActor, IWithTimers
{
    private sealed record RoundDeadline(int Round);
    private sealed record ResendRequests(int Round);

    private readonly CoordinatorSettings _settings;
    private readonly IHospitalDirectory _hospitals;
    private readonly GlobalModelEvaluator? _evaluate;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<RoundSummary> _history = new();
    private readonly List<IActorRef> _listeners = new();
    private readonly Dictionary<string, LocalUpdate> _updates = new();
    private ModelWeights _global;
    private IActorRef? _requester;
    private int _round;
    private bool _roundOpen;
    private List<string> _selected = new();
    private Stopwatch _roundClock = new();
    private int _late;
    private int _rejected;
    private long _bytesUp;

    public RoundCoordinator(CoordinatorSettings settings, IHospitalDirectory hospitals,
        ModelWeights initialGlobal, GlobalModelEvaluator? evaluate)
    {
        settings.Validate();
        if (hospitals.HospitalIds.Count == 0) throw new ArgumentException("A run needs at least one hospital.", nameof(hospitals));
        _settings = settings;
        _hospitals = hospitals;
        _global = initialGlobal;
        _evaluate = evaluate;

        Receive<SubscribeToRun>(s => _listeners.Add(s.Listener));
        Receive<StartRun>(_ =>
        {
            if (_round > 0)
            {
                _log.Warning("StartRun ignored: the run is already at round {0}", _round);
                return;
            }
            _requester = Sender;
            BeginRound(1);
        });
        Receive<LocalUpdate>(Collect);
        Receive<RoundDeadline>(OnDeadline);
        Receive<ResendRequests>(r =>
        {
            if (r.Round != _round || !_roundOpen) return;
            var request = new TrainRound(_round, _global);
            foreach (var id in _selected.Where(id => !_updates.ContainsKey(id))) _hospitals.Tell(id, request, Self);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(CoordinatorSettings settings, IHospitalDirectory hospitals,
        ModelWeights initialGlobal, GlobalModelEvaluator? evaluate = null) =>
        Akka.Actor.Props.Create(() => new RoundCoordinator(settings, hospitals, initialGlobal, evaluate))
            .WithDispatcher(Dispatchers.Coordinator);

    public static Props Props(CoordinatorSettings settings, IReadOnlyDictionary<string, IActorRef> hospitals,
        ModelWeights initialGlobal, GlobalModelEvaluator? evaluate = null) =>
        Props(settings, new LocalHospitals(hospitals), initialGlobal, evaluate);

    /// <summary>This round's participants: a seeded sample, sorted by id.</summary>
    public static List<string> SelectParticipants(IEnumerable<string> hospitalIds, int round, CoordinatorSettings settings)
    {
        var all = hospitalIds.OrderBy(id => id, StringComparer.Ordinal).ToList();
        var k = Math.Clamp((int)Math.Ceiling(settings.SampleFraction * all.Count), Math.Min(settings.MinParticipants, all.Count), all.Count);
        var rng = SeededRandom.Derive(settings.Seed, $"selection/round-{round}");
        return rng.Permutation(all.Count).Take(k).Select(i => all[i]).OrderBy(id => id, StringComparer.Ordinal).ToList();
    }

    private void BeginRound(int round)
    {
        _round = round;
        _roundOpen = true;
        _updates.Clear();
        _late = _rejected = 0;
        _bytesUp = 0;
        _roundClock = Stopwatch.StartNew();
        _selected = SelectParticipants(_hospitals.HospitalIds, round, _settings);
        var request = new TrainRound(round, _global);
        foreach (var id in _selected) _hospitals.Tell(id, request, Self);
        Timers.StartSingleTimer("deadline", new RoundDeadline(round), _settings.RoundTimeout);
        Timers.StartPeriodicTimer("resend", new ResendRequests(round), _settings.ResendInterval);
    }

    private void Collect(LocalUpdate update)
    {
        if (update.Round != _round || !_roundOpen)
        {
            _late++;
            _log.Info("Dropped late update of {0} for round {1} (now round {2}{3})", update.HospitalId, update.Round, _round, _roundOpen ? "" : ", closed");
            return;
        }
        if (_updates.TryGetValue(update.HospitalId, out var accepted) && accepted.Weights.ContentHash == update.Weights.ContentHash)
        {
            // The answer to a resent request, identical to one already accepted.
            _log.Debug("Ignored a repeated update of {0} for round {1}", update.HospitalId, update.Round);
            return;
        }
        _bytesUp += update.Weights.PayloadBytes;
        var problem = Validate(update);
        if (problem is not null)
        {
            _rejected++;
            _log.Warning("Rejected update of {0} for round {1}: {2}", update.HospitalId, update.Round, problem);
            return;
        }
        _updates[update.HospitalId] = update;
        if (_updates.Count == _selected.Count) CloseRound();
    }

    private string? Validate(LocalUpdate update)
    {
        if (!_selected.Contains(update.HospitalId)) return "hospital was not selected for this round";
        if (_updates.ContainsKey(update.HospitalId)) return "duplicate update";
        if (update.Samples <= 0) return $"sample count {update.Samples}";
        var expected = _global.Tensors;
        var got = update.Weights.Tensors;
        if (got.Count != expected.Count) return $"{got.Count} tensors, expected {expected.Count}";
        for (var i = 0; i < got.Count; i++)
        {
            if (got[i].Name != expected[i].Name || !got[i].Shape.SequenceEqual(expected[i].Shape))
                return $"tensor {i} is '{got[i].Name}' [{string.Join(',', got[i].Shape)}], expected '{expected[i].Name}' [{string.Join(',', expected[i].Shape)}]";
            if (got[i].Values.Any(v => !float.IsFinite(v))) return $"tensor '{got[i].Name}' holds NaN or Inf";
        }
        return null;
    }

    private void OnDeadline(RoundDeadline deadline)
    {
        if (deadline.Round != _round || !_roundOpen) return;
        if (_updates.Count >= _settings.MinParticipants)
        {
            CloseRound();
            return;
        }
        _log.Warning("Round {0} reached its deadline with {1} of the {2} updates required; skipped, global model kept",
            _round, _updates.Count, _settings.MinParticipants);
        CloseRound(skip: true);
    }

    private void CloseRound(bool skip = false)
    {
        _roundOpen = false;
        Timers.Cancel("deadline");
        Timers.Cancel("resend");
        var accepted = _updates.Values.OrderBy(u => u.HospitalId, StringComparer.Ordinal).ToList();
        if (!skip)
            _global = FederatedAveraging.WeightedMean(accepted.Select(u => new WeightedContribution(u.HospitalId, u.Weights, u.Samples)).ToList());

        var evaluate = _evaluate is not null && !skip &&
                       (_round == _settings.Rounds || (_settings.EvaluateEvery > 0 && _round % _settings.EvaluateEvery == 0));
        var evaluation = evaluate ? _evaluate!(_global, _round) : new Dictionary<string, double>();
        var summary = new RoundSummary(
            _round, _selected,
            skip ? [] : accepted.Select(u => u.HospitalId).ToList(),
            _selected.Where(id => !_updates.ContainsKey(id)).ToList(),
            accepted.Count == 0 ? double.NaN : accepted.Sum(u => u.MeanLoss * u.Samples) / accepted.Sum(u => (double)u.Samples),
            _selected.Count * _global.PayloadBytes, _bytesUp, _roundClock.Elapsed.TotalSeconds,
            _late, _rejected, skip, _global.ContentHash, evaluation);
        _history.Add(summary);
        foreach (var l in _listeners) l.Tell(new RoundClosed(summary));

        if (_round < _settings.Rounds)
        {
            BeginRound(_round + 1);
            return;
        }
        var completed = new RunCompleted(_global, _history.ToList());
        foreach (var l in _listeners) l.Tell(completed);
        _requester?.Tell(completed);
    }
}
