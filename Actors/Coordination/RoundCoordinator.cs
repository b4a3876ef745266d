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
/// a closed round, duplicates and malformed updates are dropped and counted. Given this
/// node's <c>WeightsTransfer</c> (cluster mode), weights travel by reference: the global is
/// offered and sent as <see cref="TrainRoundByRef"/>, uploads arrive as <see cref="LocalUpdateByRef"/>
/// and are fetched before they are checked like any <see cref="LocalUpdate"/>.
/// </summary>
public sealed class RoundCoordinator : ReceiveActor, IWithTimers
{
    private sealed record RoundDeadline(int Round);
    private sealed record ResendRequests(int Round);
    // Local replies of this node's transfer actor, piped back with what the upload said.
    private sealed record UploadFetched(LocalUpdateByRef Upload, ModelWeights Weights) : INoSerializationVerificationNeeded;
    private sealed record UploadFetchFailed(LocalUpdateByRef Upload, Exception Cause) : INoSerializationVerificationNeeded;

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
    private readonly IActorRef? _transfer;
    private WeightsRef? _globalRef; // this round's offered global; null until the transfer answers
    private readonly HashSet<(string HospitalId, string Hash)> _fetching = new();
    private readonly List<WeightsRef> _fetched = new(); // copies of remote uploads, dropped after aggregation

    public RoundCoordinator(CoordinatorSettings settings, IHospitalDirectory hospitals,
        ModelWeights initialGlobal, GlobalModelEvaluator? evaluate, IActorRef? transfer = null)
    {
        settings.Validate();
        if (hospitals.HospitalIds.Count == 0) throw new ArgumentException("A run needs at least one hospital.", nameof(hospitals));
        _settings = settings;
        _hospitals = hospitals;
        _global = initialGlobal;
        _evaluate = evaluate;
        _transfer = transfer;

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
        Receive<WeightsRef>(GlobalOffered);
        Receive<LocalUpdateByRef>(FetchUpload);
        Receive<UploadFetched>(f =>
        {
            _fetching.Remove((f.Upload.HospitalId, f.Upload.Weights.ContentHash));
            if (!f.Upload.Weights.Owner.Equals(_transfer)) _fetched.Add(f.Upload.Weights);
            var u = f.Upload;
            Collect(new LocalUpdate(u.Round, u.HospitalId, f.Weights, u.Samples, u.MeanLoss, u.Steps, u.ComputeSeconds));
        });
        Receive<UploadFetchFailed>(f =>
        {
            var u = f.Upload;
            _fetching.Remove((u.HospitalId, u.Weights.ContentHash));
            if (u.Round != _round || !_roundOpen)
            {
                _late++;
                _log.Info("Dropped late update of {0} for round {1} (its fetch failed: {2})", u.HospitalId, u.Round, f.Cause.Message);
                return;
            }
            _rejected++;
            _log.Warning("Rejected update of {0} for round {1}: its weights could not be fetched: {2}", u.HospitalId, u.Round, f.Cause.Message);
        });
        Receive<RoundDeadline>(OnDeadline);
        Receive<ResendRequests>(r =>
        {
            if (r.Round != _round || !_roundOpen) return;
            object? request = _transfer is null ? new TrainRound(_round, _global) : _globalRef is null ? null : new TrainRoundByRef(_round, _globalRef);
            if (request is null) return; // the offer is still on its way; it sends the requests itself
            foreach (var id in _selected.Where(id => !_updates.ContainsKey(id))) _hospitals.Tell(id, request, Self);
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="transfer">This node's <c>WeightsTransfer</c>: weights then travel by reference (cluster mode); null sends them inline.</param>
    public static Props Props(CoordinatorSettings settings, IHospitalDirectory hospitals,
        ModelWeights initialGlobal, GlobalModelEvaluator? evaluate = null, IActorRef? transfer = null) =>
        Akka.Actor.Props.Create(() => new RoundCoordinator(settings, hospitals, initialGlobal, evaluate, transfer))
            .WithDispatcher(Dispatchers.Coordinator);

    public static Props Props(CoordinatorSettings settings, IReadOnlyDictionary<string, IActorRef> hospitals,
        ModelWeights initialGlobal, GlobalModelEvaluator? evaluate = null, IActorRef? transfer = null) =>
        Props(settings, new LocalHospitals(hospitals), initialGlobal, evaluate, transfer);

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
        _fetching.Clear();
        _roundClock = Stopwatch.StartNew();
        _selected = SelectParticipants(_hospitals.HospitalIds, round, _settings);
        if (_transfer is null)
        {
            var request = new TrainRound(round, _global);
            foreach (var id in _selected) _hospitals.Tell(id, request, Self);
        }
        else
        {
            // A local, cheap offer: the requests go out when its WeightsRef comes back (GlobalOffered).
            _globalRef = null;
            _transfer.Tell(new OfferWeights(_global), Self);
        }
        Timers.StartSingleTimer("deadline", new RoundDeadline(round), _settings.RoundTimeout);
        Timers.StartPeriodicTimer("resend", new ResendRequests(round), _settings.ResendInterval);
    }

    private void GlobalOffered(WeightsRef offered)
    {
        if (!_roundOpen || _globalRef is not null || offered.ContentHash != _global.ContentHash) return;
        _globalRef = offered;
        var request = new TrainRoundByRef(_round, offered);
        foreach (var id in _selected.Where(id => !_updates.ContainsKey(id))) _hospitals.Tell(id, request, Self);
    }

    private void FetchUpload(LocalUpdateByRef upload)
    {
        if (_transfer is null)
        {
            _log.Warning("Dropped an update by reference of {0}: this coordinator has no weights transfer", upload.HospitalId);
            return;
        }
        if (upload.Round != _round || !_roundOpen)
        {
            _late++;
            _log.Info("Dropped late update of {0} for round {1} (now round {2}{3})", upload.HospitalId, upload.Round, _round, _roundOpen ? "" : ", closed");
            return;
        }
        var hash = upload.Weights.ContentHash;
        // The answer to a resent request: already accepted, or already being fetched.
        if ((_updates.TryGetValue(upload.HospitalId, out var accepted) && accepted.Weights.ContentHash == hash) ||
            !_fetching.Add((upload.HospitalId, hash)))
        {
            _log.Debug("Ignored a repeated update of {0} for round {1}", upload.HospitalId, upload.Round);
            return;
        }
        _transfer.Ask<WeightsFetched>(new FetchWeights(upload.Weights), _settings.RoundTimeout)
            .PipeTo(Self, success: f => new UploadFetched(upload, f.Weights), failure: e => new UploadFetchFailed(upload, e));
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

    /// <summary>Once a round is aggregated neither its global nor the copies of its uploads are needed on this node.</summary>
    private void ReleaseTransfers(ModelWeights previousGlobal)
    {
        if (previousGlobal.ContentHash != _global.ContentHash) _transfer!.Tell(new ReleaseWeights(previousGlobal.ContentHash));
        _globalRef = null;
        // Never an upload this node's hospitals offered themselves (they release those), nor the new global.
        foreach (var copy in _fetched.Where(r => r.ContentHash != _global.ContentHash && r.ContentHash != previousGlobal.ContentHash))
            _transfer!.Tell(new ReleaseWeights(copy.ContentHash));
        _fetched.Clear();
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
        var previous = _global;
        if (!skip)
            _global = FederatedAveraging.WeightedMean(accepted.Select(u => new WeightedContribution(u.HospitalId, u.Weights, u.Samples)).ToList());
        if (_transfer is not null) ReleaseTransfers(previous);

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
