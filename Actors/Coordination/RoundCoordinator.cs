using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;
using FedActors.Actors.Simulation;
using FedActors.Training;
using FedActors.Training.Methods;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Actors.Coordination;

/// <summary>Evaluates a global model; returns named figures (e.g. probe accuracy).</summary>
public delegate IReadOnlyDictionary<string, double> GlobalModelEvaluator(ModelWeights global, int round);

/// <summary>
/// Runs the rounds on the simulated clock: selects available participants (over-selecting when
/// configured), injects the run's fault plan, sends them the global weights, places each update
/// on the simulated clock (compute × speed factor + bytes / bandwidth + delays), keeps those on
/// time (the first k under over-selection), retries or skips a round with too few, averages the
/// kept updates weighted by sample count (FedAvg), evaluates, snapshots its round state and
/// reports each round. Every selection, fault, dropped, lost, late, duplicate, rejected or surplus
/// update is published as a <see cref="RunEvent"/>. The wall clock only guards against failures
/// nobody injected (<see cref="CoordinatorSettings.RoundTimeout"/>).
/// With <see cref="CoordinatorPersistence"/> configured it recovers after a crash (restart,
/// singleton move, or a new process) from the last completed round. Weights travel by reference through this
/// node's <c>WeightsTransfer</c> (in one process, the hospitals' too).
/// </summary>
public sealed class RoundCoordinator : ReceivePersistentActor, IWithTimers
{
    public const string DefaultPersistenceId = "round-coordinator";

    private sealed record RoundDeadline(int Round, int Attempt);
    private sealed record ResendRequests(int Round);
    // Sent to itself before a restart, so the new incarnation keeps its listeners and continues the run.
    private sealed record ContinueAfterCrash(IReadOnlyList<IActorRef> Listeners, IReadOnlyList<IActorRef> GlobalListeners, IActorRef? Requester) : INoSerializationVerificationNeeded;
    // Sent to itself after recovering an unfinished run (a moved singleton, a new process): nobody else knows it must go on.
    private sealed record ContinueRecoveredRun : INoSerializationVerificationNeeded
    {
        public static ContinueRecoveredRun Instance { get; } = new();
    }
    // Local replies of this node's transfer actor, piped back with what the upload said.
    private sealed record UploadFetched(LocalUpdateByRef Upload, ModelWeights Weights) : INoSerializationVerificationNeeded;
    private sealed record UploadFetchFailed(LocalUpdateByRef Upload, Exception Cause) : INoSerializationVerificationNeeded;

    /// <summary>Thrown to crash the coordinator when the fault plan says so.</summary>
    public sealed class InjectedCrash(string message) : Exception(message);

    private enum Outcome { Pending, Accepted, Surplus, Dropped, Lost, Late, Rejected }

    /// <summary>One selected hospital in the open round.</summary>
    private sealed class Participant(string id, int attempt, double start, HospitalRoundFaults faults, HospitalConditions conditions, double onUntil)
    {
        public string Id { get; } = id;
        public int Attempt { get; } = attempt;
        public double Start { get; } = start;
        public HospitalRoundFaults Faults { get; } = faults;
        public HospitalConditions Conditions { get; } = conditions;
        public double OnUntil { get; } = onUntil;
        public bool Requested { get; set; }
        public Outcome Outcome { get; set; } = Outcome.Pending;
        public string Reason { get; set; } = "";
        public double At { get; set; } // simulated time of the outcome
        public LocalUpdate? Update { get; set; }
    }

    private readonly CoordinatorSettings _settings;
    private readonly IHospitalDirectory _hospitals;
    private readonly IWorkerNodes? _workers;
    private readonly GlobalModelEvaluator? _evaluate;
    private readonly IFederatedServer _server;
    private readonly Dictionary<string, MethodPayloads> _broadcasts = new(StringComparer.Ordinal); // what this round's request to each hospital carries beside the global
    private readonly List<ClientTraffic> _traffic = new();
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _persistenceId;
    private readonly bool _persist;
    private readonly List<RoundSummary> _history = new();
    private readonly List<IActorRef> _listeners = new();
    private readonly List<IActorRef> _globalListeners = new();
    // What a run that continued by itself published before anyone subscribed: the first subscriber gets it.
    private readonly List<object> _held = new();
    private const int MaxHeld = 10_000;
    private bool _holdForListener;
    // The open attempt's events, published in simulated-time order when it closes, so that replays write identical event files.
    private readonly List<RunEvent> _attemptEvents = new();
    private ModelWeights _global;
    private IActorRef? _requester;
    private int _completedRound;
    private double _clock; // simulated seconds at the end of the last completed round
    private bool _started;
    private bool _awaitingCheckpoint; // the closed round's snapshot is being written; the next round waits for it
    private bool _selecting; // an attempt is being set up: progress goes out once it is complete
    private bool _resuming; // this incarnation continues a run (recovered or restarted): its first round is not begun afresh

    // The open round.
    private int _round;
    private bool _roundOpen;
    private int _attempt;
    private int _wanted;
    private int _attemptWanted;
    private double _attemptStart;
    private readonly Dictionary<string, Participant> _participants = new(StringComparer.Ordinal);
    private Stopwatch _roundClock = new();
    private int _late;
    private int _rejected;
    private int _duplicates;
    private long _bytesUp;
    private long _bytesDown;

    private readonly IActorRef _transfer;
    private WeightsRef? _globalRef; // this round's offered global; null until the transfer answers
    private readonly HashSet<(string HospitalId, string Hash)> _fetching = new();
    private readonly List<WeightsRef> _fetched = new(); // uploads fetched this round, released here and at their owners after aggregation

    public RoundCoordinator(CoordinatorSettings settings, IHospitalDirectory hospitals, ModelWeights initialGlobal, IActorRef transfer,
        GlobalModelEvaluator? evaluate, IWorkerNodes? workers = null, string persistenceId = DefaultPersistenceId,
        Func<IFederatedServer>? createServer = null)
    {
        settings.Validate();
        _server = createServer?.Invoke() ?? new FederatedAveragingServer();
        if (hospitals.HospitalIds.Count == 0) throw new ArgumentException("A run needs at least one hospital.", nameof(hospitals));
        _settings = settings;
        _hospitals = hospitals;
        _global = initialGlobal;
        _evaluate = evaluate;
        _transfer = transfer ?? throw new ArgumentNullException(nameof(transfer), "A run needs its node's weights transfer: weights travel by reference.");
        _workers = workers;
        _persistenceId = persistenceId;
        _persist = CoordinatorPersistence.IsEnabled(Context.System);
        JournalPluginId = CoordinatorPersistence.JournalPluginId;
        if (!_persist) SnapshotPluginId = CoordinatorPersistence.NoSnapshotStore; // else the configured default store

        Recover<SnapshotOffer>(offer => Restore((CoordinatorSnapshot)offer.Snapshot, offer.Metadata));

        Command<SubscribeToRun>(s =>
        {
            if (!_listeners.Contains(s.Listener)) _listeners.Add(s.Listener);
            foreach (var held in _held) s.Listener.Tell(held);
            _held.Clear();
            _holdForListener = false;
        });
        Command<SubscribeToGlobals>(s => { if (!_globalListeners.Contains(s.Listener)) _globalListeners.Add(s.Listener); });
        Command<ContinueRecoveredRun>(_ =>
        {
            if (_started) return; // a StartRun or a restart got here first
            _holdForListener = _listeners.Count == 0;
            Start();
        });
        Command<ContinueAfterCrash>(c =>
        {
            foreach (var l in c.Listeners.Where(l => !_listeners.Contains(l))) _listeners.Add(l);
            foreach (var l in c.GlobalListeners.Where(l => !_globalListeners.Contains(l))) _globalListeners.Add(l);
            _requester ??= c.Requester;
            _resuming = true;
            Start();
        });
        Command<StartRun>(_ =>
        {
            _requester = Sender;
            Start();
        });
        Command<WeightsRef>(GlobalOffered);
        Command<LocalUpdateByRef>(FetchUpload);
        Command<UploadFetched>(f =>
        {
            _fetching.Remove((f.Upload.HospitalId, f.Upload.Weights.ContentHash));
            _fetched.Add(f.Upload.Weights);
            var u = f.Upload;
            Collect(new LocalUpdate(u.Round, u.HospitalId, f.Weights, u.Samples, u.MeanLoss, u.Steps, u.ComputeSeconds, u.Extras));
        });
        Command<UploadFetchFailed>(f =>
        {
            var u = f.Upload;
            _fetching.Remove((u.HospitalId, u.Weights.ContentHash));
            var p = u.Round == _round && _roundOpen ? _participants.GetValueOrDefault(u.HospitalId) : null;
            // Not the hospital's fault (its node may have gone): it stays pending, and the next resend asks it again.
            if (p is { Outcome: Outcome.Pending })
                Publish(u.Round, RunEventKinds.FetchFailed, u.HospitalId, $"its weights could not be fetched ({f.Cause.Message}); asking again at the next resend", _attemptStart);
        });
        Command<RoundDeadline>(OnWallClockTimeout);
        Command<ResendRequests>(r =>
        {
            if (r.Round != _round || !_roundOpen) return;
            if (_globalRef is null) return; // the offer is still on its way; it sends the requests itself
            foreach (var p in _participants.Values.Where(p => p.Requested && p.Outcome == Outcome.Pending)) _hospitals.Tell(p.Id, Request(p.Id)!, Self);
        });
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue, s.Metadata.Timestamp.AddTicks(-1)));
            ContinueAfterCheckpoint();
        });
        Command<SaveSnapshotFailure>(f =>
        {
            _log.Error(f.Cause, "Round {0}'s coordinator snapshot was not saved; a crash now resumes from the one before", _completedRound);
            ContinueAfterCheckpoint();
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("Older coordinator snapshots not deleted: {0}", f.Cause.Message));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public override string PersistenceId => _persistenceId;

    /// <param name="transfer">This node's <c>WeightsTransfer</c>, where the global is offered and uploads are fetched.</param>
    /// <param name="workers">The cluster's worker nodes, for scripted worker crashes; null outside cluster mode.</param>
    /// <param name="createServer">The method's server side, made for each incarnation (its state comes back from the checkpoint); null is FedAvg.</param>
    public static Props Props(CoordinatorSettings settings, IHospitalDirectory hospitals, ModelWeights initialGlobal, IActorRef transfer,
        GlobalModelEvaluator? evaluate = null, IWorkerNodes? workers = null, string persistenceId = DefaultPersistenceId,
        Func<IFederatedServer>? createServer = null) =>
        Akka.Actor.Props.Create(() => new RoundCoordinator(settings, hospitals, initialGlobal, transfer, evaluate, workers, persistenceId, createServer))
            .WithDispatcher(Dispatchers.Coordinator);

    public static Props Props(CoordinatorSettings settings, IReadOnlyDictionary<string, IActorRef> hospitals,
        ModelWeights initialGlobal, IActorRef transfer, GlobalModelEvaluator? evaluate = null, string persistenceId = DefaultPersistenceId,
        Func<IFederatedServer>? createServer = null) =>
        Props(settings, new LocalHospitals(hospitals), initialGlobal, transfer, evaluate, persistenceId: persistenceId, createServer: createServer);

    /// <summary>A seeded sample of <paramref name="count"/> of <paramref name="eligible"/>, sorted by id; the same for any order of the input.</summary>
    public static List<string> SelectParticipants(IEnumerable<string> eligible, int count, ulong seed, int round, int attempt = 1)
    {
        var all = eligible.OrderBy(id => id, StringComparer.Ordinal).ToList();
        var rng = SeededRandom.Derive(seed, attempt == 1 ? $"selection/round-{round}" : $"selection/round-{round}/attempt-{attempt}");
        return rng.Permutation(all.Count).Take(Math.Min(count, all.Count)).Select(i => all[i]).OrderBy(id => id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Round <paramref name="round"/>'s first selection with everyone available: the wanted count, over-selected.</summary>
    public static List<string> SelectParticipants(IEnumerable<string> hospitalIds, int round, CoordinatorSettings settings)
    {
        var all = hospitalIds.ToList();
        return SelectParticipants(all, OverSelected(settings.WantedParticipants(all.Count), settings), settings.Seed, round);
    }

    private static int OverSelected(int wanted, CoordinatorSettings settings) => (int)Math.Ceiling(wanted * (1 + settings.OverSelection) - 1e-9);

    protected override void PreRestart(Exception reason, object message)
    {
        // The mailbox survives the restart: the new incarnation reads this after recovering its snapshot.
        if (_started) Self.Tell(new ContinueAfterCrash(_listeners.ToList(), _globalListeners.ToList(), _requester));
        base.PreRestart(reason, message);
    }

    /// <summary>A recovered run that has rounds left goes on by itself: after a singleton move nobody sends it <see cref="StartRun"/>.</summary>
    protected override void OnReplaySuccess()
    {
        if (_resuming && _completedRound < _settings.Rounds) Self.Tell(ContinueRecoveredRun.Instance);
        base.OnReplaySuccess();
    }

    private void Restore(CoordinatorSnapshot snapshot, SnapshotMetadata metadata)
    {
        if (snapshot.Global.Tensors.Count != _global.Tensors.Count)
            throw new InvalidDataException($"coordinator snapshot of {PersistenceId} ({metadata.Timestamp:O}): its global model has {snapshot.Global.Tensors.Count} tensors, this run's {_global.Tensors.Count}; is it another experiment's checkpoint?");
        if (snapshot.Method != _server.Method)
            throw new InvalidDataException($"coordinator snapshot of {PersistenceId} ({metadata.Timestamp:O}): written by method '{snapshot.Method}', this run's is '{_server.Method}'.");
        _server.LoadState(snapshot.MethodState, $"coordinator snapshot of {PersistenceId} ({metadata.Timestamp:O}), {snapshot.Method} state");
        _completedRound = snapshot.CompletedRound;
        _global = snapshot.Global;
        _clock = snapshot.SimulatedClock;
        _history.Clear();
        _history.AddRange(snapshot.History);
        _resuming = true;
        _log.Info("Coordinator recovered after round {0} (global {1})", _completedRound, _global.ContentHash[..12]);
    }

    private void Start()
    {
        if (_started && (_roundOpen || _awaitingCheckpoint)) return; // a second StartRun while running
        _started = true;
        if (_completedRound >= _settings.Rounds)
        {
            Complete();
            return;
        }
        if (_resuming) Publish(_completedRound + 1, RunEventKinds.CoordinatorRecovered, null,
            _completedRound == 0 ? "no round had completed: starting from round 1" : $"continuing after round {_completedRound}", _clock);
        BeginRound(_completedRound + 1);
    }

    private void BeginRound(int round)
    {
        var resumed = _resuming;
        _resuming = false;
        _round = round;
        _roundOpen = true;
        _participants.Clear();
        _attemptEvents.Clear();
        _late = _rejected = _duplicates = 0;
        _bytesUp = _bytesDown = 0;
        _traffic.Clear();
        _broadcasts.Clear();
        _fetching.Clear();
        _globalRef = null;
        _roundClock = Stopwatch.StartNew();
        _attempt = 0;
        _wanted = _settings.WantedParticipants(_hospitals.HospitalIds.Count);
        _attemptStart = _clock;
        _transfer.Tell(new OfferWeights(_global), Self); // requests go out when its WeightsRef comes back
        Timers.StartPeriodicTimer("resend", new ResendRequests(round), _settings.ResendInterval);
        StartAttempt(_wanted);

        foreach (var crash in _settings.Faults.WorkerCrashes.Where(c => c.Round == round && !resumed))
        {
            var fired = _workers?.Crash(crash.Node, round);
            Publish(round, RunEventKinds.WorkerCrash, null, fired switch
            {
                null => $"worker '{crash.Node}' not crashed: this run has no worker nodes (not cluster mode)",
                false => $"worker '{crash.Node}' not crashed: no such worker is up",
                true => $"scripted crash of worker '{crash.Node}'",
            }, _attemptStart);
        }
        if (!resumed && _settings.Faults.CoordinatorCrashes.Any(c => c.Round == round))
        {
            Publish(round, RunEventKinds.CoordinatorCrash, null, "scripted coordinator crash once the round's requests are out", _attemptStart);
            FlushEvents();
            throw new InjectedCrash($"Injected coordinator crash in round {round}");
        }
        TryCloseAttempt();
    }

    /// <summary>Selects <paramref name="wanted"/> (over-selected) of the hospitals available and not yet asked this round, and asks them.</summary>
    private void StartAttempt(int wanted)
    {
        _attempt++;
        _attemptWanted = wanted;
        var eligible = _hospitals.HospitalIds.Where(id => !_participants.ContainsKey(id) && _settings.Availability.IsOn(id, _attemptStart)).ToList();
        var selected = SelectParticipants(eligible, OverSelected(wanted, _settings), _settings.Seed, _round, _attempt);
        _selecting = true;
        foreach (var id in selected)
        {
            var faults = _settings.Faults.For(_settings.Seed, _round, id);
            var conditions = _settings.Heterogeneity.For(id, _settings.Seed);
            var p = new Participant(id, _attempt, _attemptStart, faults, conditions,
                _settings.Availability.OnUntil(id, _attemptStart) ?? _attemptStart);
            _participants[id] = p;
            Publish(_round, RunEventKinds.Selected, id, _attempt == 1 ? "selected" : $"selected in retry {_attempt - 1}", _attemptStart);
            if (faults.SlowFactor != 1)
                Publish(_round, RunEventKinds.Slowed, id, $"scripted slowdown: computes {faults.SlowFactor:G4}× slower", _attemptStart);
            var broadcast = BroadcastTo(id);
            var download = Heterogeneity.TransferSeconds(_global.PayloadBytes + broadcast.Bytes, conditions);
            // A drop before or during training fires whatever happens to the request: it is what the plan asked for.
            if (faults.RequestLost && faults.Drop is null or DropoutStage.AfterUpload)
            {
                Settle(p, Outcome.Lost, "request lost in transit (injected)", _attemptStart);
                continue;
            }
            Count(id, ClientTraffic.Down, _global.PayloadBytes, broadcast);
            if (faults.RequestDelaySeconds > 0)
                Publish(_round, RunEventKinds.Delayed, id, $"request delayed {faults.RequestDelaySeconds:G4} s (injected)", _attemptStart);
            if (faults.Drop is DropoutStage.BeforeTraining)
            {
                // Crashed on receipt: nothing to send it, nothing will come back.
                Settle(p, Outcome.Dropped, faults.DropReason!, _attemptStart + faults.RequestDelaySeconds + download);
                continue;
            }
            if (faults.Drop is DropoutStage.DuringTraining)
            {
                // Its work dies with it: the hospital's state stays as after its last completed round.
                var failedAt = _attemptStart + faults.RequestDelaySeconds + download +
                               (double.IsFinite(_settings.DeadlineSeconds) ? faults.DropFraction * _settings.DeadlineSeconds : 0);
                Settle(p, Outcome.Dropped, faults.DropReason!, failedAt);
                continue;
            }
            p.Requested = true;
            if (Request(id) is { } request) _hospitals.Tell(id, request, Self);
        }
        _selecting = false;
        PublishProgress();
        if (selected.Count < OverSelected(wanted, _settings))
            _log.Info("Round {0} attempt {1}: {2} of the {3} hospitals wanted are available", _round, _attempt, selected.Count, OverSelected(wanted, _settings));
        Timers.StartSingleTimer("deadline", new RoundDeadline(_round, _attempt), _settings.RoundTimeout);
    }

    /// <summary>This round's request to <paramref name="hospitalId"/>, or null until the transfer has offered the global.</summary>
    private object? Request(string hospitalId) =>
        _globalRef is null ? null : new TrainRoundByRef(_round, _globalRef, BroadcastTo(hospitalId));

    /// <summary>What the method's server sends <paramref name="hospitalId"/> beside this round's global: asked once per round and hospital, so resent requests carry the same.</summary>
    private MethodPayloads BroadcastTo(string hospitalId)
    {
        if (!_broadcasts.TryGetValue(hospitalId, out var broadcast))
            _broadcasts[hospitalId] = broadcast = _server.Broadcast(_round, hospitalId);
        return broadcast;
    }

    private void GlobalOffered(WeightsRef offered)
    {
        if (!_roundOpen || _globalRef is not null || offered.ContentHash != _global.ContentHash) return;
        _globalRef = offered;
        foreach (var p in _participants.Values.Where(p => p.Requested && p.Outcome == Outcome.Pending))
            _hospitals.Tell(p.Id, new TrainRoundByRef(_round, offered, BroadcastTo(p.Id)), Self);
    }

    private void FetchUpload(LocalUpdateByRef upload)
    {
        var hash = upload.Weights.ContentHash;
        var p = upload.Round == _round && _roundOpen ? _participants.GetValueOrDefault(upload.HospitalId) : null;
        // Only a pending participant's upload is worth fetching; anything else is judged (late, duplicate…) without its weights.
        if (p is not { Outcome: Outcome.Pending } || !_fetching.Add((upload.HospitalId, hash)))
        {
            if (_fetching.Contains((upload.HospitalId, hash))) return; // the answer to a resent request, already on its way
            Judge(upload.Round, upload.HospitalId, hash, upload.Weights.PayloadBytes);
            // Never fetched, so never released with the round's uploads: its owner may drop it now (a passivated hospital
            // would never release it), unless the same weights are a global here or on their way in for someone else.
            if (hash != _global.ContentHash && !_fetching.Any(f => f.Hash == hash)) upload.Weights.Owner.Tell(new ReleaseWeights(hash));
            return;
        }
        _transfer.Ask<WeightsFetched>(new FetchWeights(upload.Weights), _settings.RoundTimeout)
            .PipeTo(Self, success: f => new UploadFetched(upload, f.Weights), failure: e => new UploadFetchFailed(upload, e));
    }

    private void Collect(LocalUpdate update)
    {
        var p = update.Round == _round && _roundOpen ? _participants.GetValueOrDefault(update.HospitalId) : null;
        if (p is not { Outcome: Outcome.Pending, Requested: true })
        {
            Judge(update.Round, update.HospitalId, update.Weights.ContentHash, update.Weights.PayloadBytes);
            return;
        }
        Count(update.HospitalId, ClientTraffic.Up, update.Weights.PayloadBytes, update.Extras ?? MethodPayloads.Empty);
        var problem = Validate(update);
        if (problem is not null)
        {
            Settle(p, Outcome.Rejected, problem, _attemptStart);
            TryCloseAttempt();
            return;
        }
        var f = p.Faults;
        var compute = _settings.Heterogeneity.ComputeSeconds(update.Steps, update.ComputeSeconds, p.Conditions.SpeedFactor * f.SlowFactor);
        var arrival = p.Start + f.RequestDelaySeconds + Heterogeneity.TransferSeconds(_global.PayloadBytes + BroadcastTo(p.Id).Bytes, p.Conditions) + compute +
                      Heterogeneity.TransferSeconds(update.Weights.PayloadBytes + (update.Extras?.Bytes ?? 0), p.Conditions) + f.UploadDelaySeconds;
        if (f.UploadDelaySeconds > 0)
            Publish(_round, RunEventKinds.Delayed, p.Id, $"upload delayed {f.UploadDelaySeconds:G4} s (injected)", arrival);
        if (f.Drop is DropoutStage.AfterUpload) Settle(p, Outcome.Lost, f.DropReason!, arrival);
        else if (f.UploadLost) Settle(p, Outcome.Lost, "upload lost in transit (injected)", arrival);
        else if (arrival > p.OnUntil) Settle(p, Outcome.Dropped, $"went offline at {p.OnUntil:F1} s (availability trace) before its upload arrived at {arrival:F1} s", p.OnUntil);
        else if (arrival > p.Start + _settings.DeadlineSeconds)
            Settle(p, Outcome.Late, $"arrived at {arrival:F1} s, after the deadline at {p.Start + _settings.DeadlineSeconds:F1} s", arrival);
        else
        {
            p.Update = update;
            Settle(p, Outcome.Accepted, "accepted", arrival);
        }
        TryCloseAttempt();
    }

    /// <summary>An update that is not a pending participant's: for a closed or future round, unasked, or a second answer.</summary>
    private void Judge(int round, string hospitalId, string hash, long bytes)
    {
        if (round < _round || (round == _round && !_roundOpen))
        {
            _late++;
            Publish(round, RunEventKinds.Late, hospitalId, $"update for round {round}, which is closed", _clock);
            return;
        }
        if (round > _round)
        {
            _rejected++;
            Publish(_round, RunEventKinds.Rejected, hospitalId, $"update for round {round}, but round {_round} is open", _attemptStart);
            return;
        }
        var p = _participants.GetValueOrDefault(hospitalId);
        if (p is null || !p.Requested)
        {
            _rejected++;
            Publish(round, RunEventKinds.Rejected, hospitalId,
                p is null ? "not selected for this round" : $"was not asked for an update ({p.Reason})", _attemptStart);
            return;
        }
        _duplicates++;
        Publish(round, RunEventKinds.Duplicate, hospitalId,
            p.Update?.Weights.ContentHash == hash
                ? "repeat of its accepted update (the answer to a resent request); ignored"
                : $"a second update ({bytes} bytes) after its first was {p.Outcome.ToString().ToLowerInvariant()}; ignored", _attemptStart);
    }

    private string? Validate(LocalUpdate update)
    {
        if (update.Samples <= 0) return $"sample count {update.Samples}";
        if (!update.Weights.MatchesDeclaredHash)
            return $"payload hash mismatch: declared {update.Weights.DeclaredHash![..12]}…, content {update.Weights.ContentHash[..12]}…";
        var expected = _global.Tensors;
        var got = update.Weights.Tensors;
        if (got.Count != expected.Count) return $"{got.Count} tensors, expected {expected.Count}";
        for (var i = 0; i < got.Count; i++)
        {
            if (got[i].Name != expected[i].Name || !got[i].Shape.SequenceEqual(expected[i].Shape))
                return $"tensor {i} is '{got[i].Name}' [{string.Join(',', got[i].Shape)}], expected '{expected[i].Name}' [{string.Join(',', expected[i].Shape)}]";
            if (got[i].Values.Any(v => !float.IsFinite(v))) return $"tensor '{got[i].Name}' holds NaN or Inf";
        }
        try
        {
            return _server.Check(update.Round, Contribution(update));
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return e.Message;
        }
    }

    private static ClientContribution Contribution(LocalUpdate u) => new(u.HospitalId, u.Weights, u.Samples, u.Extras ?? MethodPayloads.Empty);

    /// <summary>Counts a transfer to or from a hospital: its weights, then each payload kind beside them.</summary>
    private void Count(string hospitalId, string direction, long weightBytes, MethodPayloads extras)
    {
        var total = weightBytes + extras.Bytes;
        if (direction == ClientTraffic.Down) _bytesDown += total;
        else _bytesUp += total;
        _traffic.Add(new ClientTraffic(hospitalId, direction, PayloadKinds.Weights, weightBytes));
        foreach (var (kind, bytes) in extras.BytesByKind().OrderBy(k => k.Key, StringComparer.Ordinal))
            _traffic.Add(new ClientTraffic(hospitalId, direction, kind, bytes));
    }

    private void Settle(Participant p, Outcome outcome, string reason, double at)
    {
        p.Outcome = outcome;
        p.Reason = reason;
        p.At = at;
        if (outcome == Outcome.Rejected) _rejected++;
        if (outcome == Outcome.Late) _late++;
        // Accepted updates are reported once over-selection has picked the first k, at the attempt's close.
        if (outcome != Outcome.Accepted) Publish(_round, KindOf(outcome), p.Id, reason, at);
        PublishProgress();
    }

    /// <summary>Live counts for progress displays: sent at once (events wait for the attempt's close, in simulated-time order).</summary>
    private void PublishProgress()
    {
        if (_listeners.Count == 0 || _selecting) return;
        var all = _participants.Values;
        var progress = new RoundProgress(_round, Math.Max(_attempt, 1), all.Count, all.Count(p => p.Outcome == Outcome.Pending && p.Requested),
            all.Count(p => p.Outcome == Outcome.Accepted), all.Count(p => p.Outcome is not (Outcome.Pending or Outcome.Accepted or Outcome.Surplus)));
        foreach (var l in _listeners) l.Tell(progress);
    }

    private static string KindOf(Outcome outcome) => outcome switch
    {
        Outcome.Accepted => RunEventKinds.Accepted,
        Outcome.Surplus => RunEventKinds.Surplus,
        Outcome.Dropped => RunEventKinds.Dropped,
        Outcome.Lost => RunEventKinds.Lost,
        Outcome.Late => RunEventKinds.Late,
        _ => RunEventKinds.Rejected,
    };

    private void OnWallClockTimeout(RoundDeadline deadline)
    {
        if (deadline.Round != _round || deadline.Attempt != _attempt || !_roundOpen) return;
        foreach (var p in _participants.Values.Where(p => p.Outcome == Outcome.Pending).OrderBy(p => p.Id, StringComparer.Ordinal))
            Settle(p, Outcome.Dropped, $"no answer within the wall-clock timeout of {_settings.RoundTimeout}", p.Start + _settings.DeadlineSeconds);
        TryCloseAttempt();
    }

    /// <summary>Once every participant of the attempt has an outcome: keep the first k, then aggregate, retry or skip.</summary>
    private void TryCloseAttempt()
    {
        if (!_roundOpen || _participants.Values.Any(p => p.Outcome == Outcome.Pending)) return;
        Timers.Cancel("deadline");
        var attempt = _participants.Values.Where(p => p.Attempt == _attempt).ToList();
        var onTime = attempt.Where(p => p.Outcome == Outcome.Accepted)
            .OrderBy(p => p.At).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
        var kept = onTime.Take(_attemptWanted).ToList();
        foreach (var p in onTime.Skip(_attemptWanted))
        {
            p.Update = null;
            Settle(p, Outcome.Surplus, $"over-selection: finished at {p.At:F1} s, after the first {_attemptWanted}", p.At);
        }
        foreach (var p in kept.OrderBy(p => p.Id, StringComparer.Ordinal))
            Publish(_round, RunEventKinds.Accepted, p.Id, $"arrived at {p.At:F1} s", p.At);
        FlushEvents();

        // The server stops waiting at the k-th arrival; short of k it waits for its deadline, if it has one.
        var end = kept.Count == _attemptWanted && kept.Count > 0 ? kept[^1].At
            : double.IsFinite(_settings.DeadlineSeconds) ? _attemptStart + _settings.DeadlineSeconds
            : attempt.Select(p => p.At).DefaultIfEmpty(_attemptStart).Max();
        end = Math.Max(end, _attemptStart);

        var accepted = _participants.Values.Count(p => p.Outcome == Outcome.Accepted);
        var required = _settings.RequiredUpdates(_wanted);
        if (accepted >= required)
        {
            CloseRound(end, skip: false);
            return;
        }
        var untried = _hospitals.HospitalIds.Count(id => !_participants.ContainsKey(id) && _settings.Availability.IsOn(id, end));
        if (_settings.OnTooFew == TooFewPolicy.Retry && _attempt <= _settings.MaxRetries && untried > 0)
        {
            Publish(_round, RunEventKinds.Retry, null,
                $"{accepted} of the {required} updates required; selecting {required - accepted} more (retry {_attempt} of {_settings.MaxRetries})", end);
            _attemptStart = end;
            StartAttempt(required - accepted);
            TryCloseAttempt();
            return;
        }
        Publish(_round, RunEventKinds.RoundSkipped, null,
            $"{accepted} of the {required} updates required{(_settings.OnTooFew == TooFewPolicy.Retry ? $" after {_attempt - 1} retries" : "")}; global model kept", end);
        CloseRound(end, skip: true);
    }

    /// <summary>Once a round is aggregated neither its global nor the copies of its uploads are needed on this node.</summary>
    private void ReleaseTransfers(ModelWeights previousGlobal)
    {
        if (previousGlobal.ContentHash != _global.ContentHash) _transfer.Tell(new ReleaseWeights(previousGlobal.ContentHash));
        _globalRef = null;
        // Each upload's offer too, at its owner: a passivated hospital is gone before its next offer would release it,
        // and a resident one asked again re-offers the same weights. Never this node's own global offers.
        var globals = new[] { _global.ContentHash, previousGlobal.ContentHash };
        foreach (var upload in _fetched)
        {
            if (!upload.Owner.Equals(_transfer)) upload.Owner.Tell(new ReleaseWeights(upload.ContentHash));
            if (!globals.Contains(upload.ContentHash)) _transfer.Tell(new ReleaseWeights(upload.ContentHash));
        }
        _fetched.Clear();
    }

    private void CloseRound(double end, bool skip)
    {
        FlushEvents();
        _roundOpen = false;
        Timers.Cancel("deadline");
        Timers.Cancel("resend");
        var accepted = _participants.Values.Where(p => p.Outcome == Outcome.Accepted).Select(p => p.Update!)
            .OrderBy(u => u.HospitalId, StringComparer.Ordinal).ToList();
        var previous = _global;
        IReadOnlyDictionary<string, double> weights = new Dictionary<string, double>();
        if (!skip)
        {
            var aggregate = _server.Aggregate(_round, previous, accepted.Select(Contribution).ToList());
            _global = aggregate.Global;
            weights = aggregate.ClientWeights;
        }
        ReleaseTransfers(previous);

        var evaluate = _evaluate is not null && !skip &&
                       (_round == _settings.Rounds || (_settings.EvaluateEvery > 0 && _round % _settings.EvaluateEvery == 0));
        // Off this long-lived thread: libtorch's thread team for the evaluation would slow every training thread after it.
        var evaluation = evaluate ? TorchRuntime.OnPassingThread(() => _evaluate!(_global, _round)) : new Dictionary<string, double>();
        var selected = _participants.Keys.OrderBy(id => id, StringComparer.Ordinal).ToList();
        var summary = new RoundSummary(
            _round, selected,
            skip ? [] : accepted.Select(u => u.HospitalId).ToList(),
            selected.Where(id => _participants[id].Outcome != Outcome.Accepted).ToList(),
            accepted.Count == 0 ? double.NaN : accepted.Sum(u => u.MeanLoss * u.Samples) / accepted.Sum(u => (double)u.Samples),
            _bytesDown, _bytesUp, _roundClock.Elapsed.TotalSeconds,
            _late, _rejected, skip, _global.ContentHash, evaluation,
            end - _clock, end, _duplicates, _attempt,
            _traffic.OrderBy(t => t.HospitalId, StringComparer.Ordinal).ThenBy(t => t.Direction, StringComparer.Ordinal).ToList(), weights);
        _clock = end;
        _completedRound = _round;
        _history.Add(summary);
        if (!skip) Publish(_round, RunEventKinds.RoundClosed, null,
            string.Create(CultureInfo.InvariantCulture, $"aggregated {accepted.Count} of {selected.Count} selected"), end);
        Broadcast(new RoundClosed(summary));
        foreach (var l in _globalListeners) l.Tell(new GlobalAfterRound(_completedRound, _global));
        if (_persist)
        {
            // Hospitals must never be a round ahead of the newest checkpoint: the next round waits until it is written.
            _awaitingCheckpoint = true;
            SaveSnapshot(new CoordinatorSnapshot(_completedRound, _global, _clock, _history.ToList(), _server.Method, _server.SaveState()));
            return;
        }
        Advance();
    }

    private void ContinueAfterCheckpoint()
    {
        if (!_awaitingCheckpoint) return;
        _awaitingCheckpoint = false;
        Advance();
    }

    private void Advance()
    {
        if (_completedRound < _settings.Rounds) BeginRound(_completedRound + 1);
        else Complete();
    }

    private void Complete()
    {
        var completed = new RunCompleted(_global, _history.ToList());
        Broadcast(completed);
        if (_requester is not null && !_listeners.Contains(_requester)) _requester.Tell(completed);
    }

    private void Publish(int round, string kind, string? hospitalId, string reason, double at)
    {
        var e = new RunEvent(round, Math.Max(_attempt, 1), kind, hospitalId, reason, at);
        if (_roundOpen && round == _round) _attemptEvents.Add(e);
        else Broadcast(e);
    }

    private void Broadcast(object message)
    {
        if (_listeners.Count > 0 || !_holdForListener)
        {
            foreach (var l in _listeners) l.Tell(message);
            return;
        }
        if (_held.Count == MaxHeld)
        {
            _log.Warning("No listener subscribed to the continued run; its oldest unreported messages are dropped");
            _held.RemoveRange(0, MaxHeld / 2);
        }
        _held.Add(message);
    }

    /// <summary>Publishes the attempt's events by simulated time, then hospital, then selection before faults before outcomes.</summary>
    private void FlushEvents()
    {
        static int Rank(string kind) => kind switch { RunEventKinds.Selected => 0, RunEventKinds.Slowed => 1, RunEventKinds.Delayed => 2, _ => 3 };
        var ordered = _attemptEvents.OrderBy(e => e.SimulatedSeconds).ThenBy(e => e.HospitalId ?? "", StringComparer.Ordinal)
            .ThenBy(e => Rank(e.Kind)).ToList(); // stable: equal keys keep the order they happened in
        _attemptEvents.Clear();
        foreach (var e in ordered) Broadcast(e);
    }
}
