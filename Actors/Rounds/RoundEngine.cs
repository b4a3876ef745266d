using System.Globalization;
using FedActors.Actors.Coordination;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;
using FedActors.Actors.Simulation;
using FedActors.Training;
using FedActors.Training.Aggregation;
using FedActors.Training.Methods;
using FedActors.Training.Randomness;
using FedActors.Training.Weights;

namespace FedActors.Actors.Rounds;

/// <summary>
/// The rules of a run's rounds, with no actors in them: told what happened (<see cref="RoundInput"/>), it
/// answers with what to do (<see cref="RoundDecision"/>). It keeps the simulated clock, applies the fault
/// plan, selects clients through the <see cref="IRoundStrategy"/>, places each update on the simulated
/// clock (compute × speed factor + bytes / bandwidth + delays), accepts or rejects it, keeps the first k
/// under over-selection, closes, retries or skips the round, aggregates, evaluates and asks for a
/// checkpoint. Every selected hospital ends in exactly one <see cref="UpdateOutcome"/>, each published as
/// a <see cref="RunEvent"/>. Decisions depend only on the inputs, the settings and the seed: the same
/// inputs replay the same decisions.
/// </summary>
public sealed class RoundEngine
{
    private sealed class Participant(string id, int attempt, double start, HospitalRoundFaults faults, HospitalConditions conditions, double onUntil)
    {
        public string Id { get; } = id;
        public int Attempt { get; } = attempt;
        public double Start { get; } = start;
        public HospitalRoundFaults Faults { get; } = faults;
        public HospitalConditions Conditions { get; } = conditions;
        public double OnUntil { get; } = onUntil;
        public bool Requested { get; set; }
        public UpdateOutcome? Outcome { get; set; } // null while pending
        public double At { get; set; } // simulated time of the outcome
        public UpdateArrived? Update { get; set; }
        public bool NormChecked { get; set; } // its accepted update passed the round's norm bound (or was clipped to it)
        public string? Clipped { get; set; } // how the norm bound clipped it, for its accepted event
        public bool Pending => Outcome is null;
    }

    private readonly CoordinatorSettings _settings;
    private readonly RoundRules _rules;
    private readonly IRoundStrategy _strategy;
    private readonly IFederatedServer _server;
    private readonly IReadOnlyList<string> _hospitals;
    private readonly GlobalModelEvaluator? _evaluate;
    private readonly IWorkerNodes? _workers;
    private readonly bool _checkpoints;
    private readonly Func<double> _wallSeconds;
    private readonly byte[] _requestKey;
    private readonly List<RoundDecision> _out = new();

    private ModelWeights _global;
    private int _completedRound;
    private double _clock; // simulated seconds at the end of the last completed round
    private readonly List<RoundSummary> _history = new();
    private readonly Dictionary<string, ClientRecord> _clients = new(StringComparer.Ordinal); // what strategies see: rebuilt from the history
    private bool _started, _awaitingCheckpoint, _resuming, _selecting;

    // The open round.
    private int _round, _attempt, _wanted, _attemptWanted;
    private bool _roundOpen;
    private double _attemptStart, _roundWallStart, _stalledSeconds; // _stalledSeconds: a recovery's stall, counted into the round it begins
    private readonly Dictionary<string, Participant> _participants = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MethodPayloads> _broadcasts = new(StringComparer.Ordinal);
    private readonly List<ClientTraffic> _traffic = new();
    private readonly List<RunEvent> _attemptEvents = new();
    private int _stale, _unexpected, _duplicates; // stray replies, counted into the round open or next to open
    private int _nodesJoined, _nodesLost, _moved, _restored; // membership and restores, counted likewise
    // Where each hospital last answered from, as it said: a different node next time is a move.
    private readonly Dictionary<string, string> _hospitalNodes = new(StringComparer.Ordinal);
    private long _bytesUp, _bytesDown;

    /// <param name="settings">The run's settings: rounds, seed, fault plan, heterogeneity, availability, timeouts.</param>
    /// <param name="hospitalIds">Every hospital of the run.</param>
    /// <param name="initialGlobal">The round-0 global model.</param>
    /// <param name="server">The method's server side; null is FedAvg.</param>
    /// <param name="evaluate">Evaluates the global model every <see cref="CoordinatorSettings.EvaluateEvery"/> rounds and after the last.</param>
    /// <param name="workers">The cluster's worker nodes, for scripted worker crashes; null outside cluster mode.</param>
    /// <param name="checkpoints">Ask for a checkpoint after every round and wait for it before the next.</param>
    /// <param name="wallSeconds">A wall clock in seconds, for the summaries' wall time only (never a decision); null is the process's.</param>
    /// <param name="requestKey">
    /// The secret that request tokens (<see cref="SendRequest.RequestToken"/>) are keyed with: an update is weighed only with its
    /// request's token. The coordinator passes random bytes; null derives a key from the seed (replayable, for tests and tools; not secret).
    /// </param>
    public RoundEngine(CoordinatorSettings settings, IReadOnlyList<string> hospitalIds, ModelWeights initialGlobal,
        IFederatedServer? server = null, GlobalModelEvaluator? evaluate = null, IWorkerNodes? workers = null, bool checkpoints = false,
        Func<double>? wallSeconds = null, byte[]? requestKey = null)
    {
        settings.Validate();
        if (hospitalIds.Count == 0) throw new ArgumentException("A run needs at least one hospital.", nameof(hospitalIds));
        _settings = settings;
        _strategy = settings.CreateStrategy();
        _rules = _strategy.Rules;
        _server = server ?? new FederatedAveragingServer();
        if (settings.Aggregation.Kind != AggregationKind.FedAvg && settings.Strategy is null && _server is not FederatedAveragingServer)
            throw new ArgumentException($"{AggregationRule.Key} = {AggregationRule.Name(settings.Aggregation.Kind)} needs a method whose aggregation is a " +
                                        $"weighted mean of the uploaded weights; method '{_server.Method}' aggregates its own way: set it to fedavg", nameof(settings));
        if (settings.Privacy.IsOn && settings.Strategy is null && _server is not FederatedAveragingServer)
            throw new ArgumentException($"fedactors.rounds.dp-noise-multiplier = {settings.Privacy.NoiseMultiplier} needs a method whose aggregation is a weighted mean " +
                                        $"of the uploaded weights; method '{_server.Method}' aggregates its own way: set it to 0", nameof(settings));
        _requestKey = requestKey ?? BitConverter.GetBytes(SeededRandom.DeriveSeed(settings.Seed, "request-tokens"));
        _hospitals = hospitalIds.OrderBy(id => id, StringComparer.Ordinal).ToList();
        _global = initialGlobal;
        foreach (var id in _hospitals) _clients[id] = new ClientRecord(id, settings.Heterogeneity.For(id, settings.Seed), 0, 0, 0, 0);
        _evaluate = evaluate;
        _workers = workers;
        _checkpoints = checkpoints;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        _wallSeconds = wallSeconds ?? (() => clock.Elapsed.TotalSeconds);
    }

    /// <summary>The global model as the last completed round left it.</summary>
    public ModelWeights Global => _global;

    /// <summary>The last completed round (0 before the first).</summary>
    public int CompletedRound => _completedRound;

    /// <summary>Whether this engine continues a run (recovered from a checkpoint) that has rounds left and has not yet gone on.</summary>
    public bool HasRunToContinue => _resuming && !_started && _completedRound < _settings.Rounds;

    /// <summary>Whether the run has begun (or finished).</summary>
    public bool Started => _started;

    /// <summary>The requests of the open round still awaiting an answer: sent again on a resend, or once the global's reference is known.</summary>
    public IReadOnlyList<SendRequest> OutstandingRequests() => !_roundOpen ? []
        : _participants.Values.Where(p => p.Requested && p.Pending).Select(RequestTo).ToList();

    private SendRequest RequestTo(Participant p) => new(_round, p.Id, BroadcastTo(p.Id)) { RequestToken = TokenFor(_round, p.Attempt, p.Id), Malice = p.Faults.Malice };

    /// <summary>The token of the request to <paramref name="hospitalId"/> in <paramref name="round"/>'s <paramref name="attempt"/>: HMAC-SHA256 under the request key, never 0.</summary>
    private ulong TokenFor(int round, int attempt, string hospitalId)
    {
        var mac = System.Security.Cryptography.HMACSHA256.HashData(_requestKey, System.Text.Encoding.UTF8.GetBytes($"{round}/{attempt}/{hospitalId}"));
        return Math.Max(1, BitConverter.ToUInt64(mac, 0));
    }

    /// <summary>Whether an answer carries the token of the request the engine sent its hospital (if it was asked at all).</summary>
    private bool Answers(ulong token, string hospitalId) =>
        _participants.GetValueOrDefault(hospitalId) is { } p && token == TokenFor(_round, p.Attempt, p.Id);

    /// <summary>An update for a pending hospital without its request's token: a forgery or a reply to an earlier incarnation's request; never weighed, never held against the hospital.</summary>
    private void Unbound(int round, string hospitalId)
    {
        _unexpected++;
        Publish(round, RunEventKinds.Unexpected, hospitalId,
            "not an answer to this round's request (its request token does not match: forged, or a reply to an earlier coordinator's request); ignored", _attemptStart);
    }

    /// <summary>Whether an update of <paramref name="hospitalId"/> for <paramref name="round"/> would be weighed now (not stale, unasked or a repeat).</summary>
    public bool AwaitsUpdate(int round, string hospitalId) =>
        _roundOpen && round == _round && _participants.GetValueOrDefault(hospitalId) is { Pending: true };

    /// <summary>Takes in what happened and returns what to do, in order.</summary>
    public IReadOnlyList<RoundDecision> Handle(RoundInput input)
    {
        _out.Clear();
        switch (input)
        {
            case RunStartRequested s:
                _resuming |= s.AfterCrash;
                Start();
                break;
            case UpdateAnnounced a: Announced(a); break;
            case UpdateArrived u: Collect(u); break;
            case UpdateUnavailable u: Unavailable(u); break;
            case HospitalFailed f: Failed(f); break;
            case NodeLost n: NodeLeft(n); break;
            case NodeJoined n: NodeCame(n); break;
            case TimeoutElapsed t: TimedOut(t); break;
            case ResendDue r when r.Round == _round: _out.AddRange(OutstandingRequests()); break;
            case ResendDue: break;
            case CheckpointWritten w:
                if (w.Failure is not null)
                    Publish(_completedRound, w.StorageFull ? RunEventKinds.StorageFull : RunEventKinds.CheckpointFailed, null,
                        $"the coordinator's checkpoint after round {_completedRound} was not saved: {w.Failure}", _clock);
                CheckpointDone();
                break;
            case RecoveredFromSnapshot r: Restore(r.Snapshot, r.Source); _stalledSeconds = r.StalledSeconds; break;
            default: throw new ArgumentException($"the round engine does not know input {input.GetType().Name}", nameof(input));
        }
        return _out.ToList();
    }

    /// <summary>A node left: its hospitals restart elsewhere, so every hospital that has not answered is asked again now, and the log says who.</summary>
    private void NodeLeft(NodeLost lost)
    {
        var again = OutstandingRequests();
        if (!MembershipIsNews) return;
        _nodesLost++;
        Publish(_round, RunEventKinds.NodeLost, null, again.Count > 0
            ? $"node {lost.Node} left the cluster; asked again the {again.Count} hospital(s) that had not answered: {string.Join(", ", again.Select(r => r.HospitalId))}"
            : $"node {lost.Node} left the cluster", _roundOpen ? _attemptStart : _clock);
        _out.AddRange(again);
    }

    /// <summary>The cluster as the run finds it is its starting point, and nodes leaving once it is over are its end: neither is news.</summary>
    private bool MembershipIsNews => _started && _completedRound < _settings.Rounds;

    private void NodeCame(NodeJoined joined)
    {
        if (!MembershipIsNews) return;
        _nodesJoined++;
        Publish(_round, RunEventKinds.NodeJoined, null, $"node {joined.Node} joined the cluster", _roundOpen ? _attemptStart : _clock);
    }

    /// <summary>Where an awaited update says it came from: a node other than last time is a move; a restore is logged.</summary>
    private void Whereabouts(UpdateAnnounced a)
    {
        if (a.Node is { } node)
        {
            if (_hospitalNodes.TryGetValue(a.HospitalId, out var before) && before != node)
            {
                _moved++;
                Publish(a.Round, RunEventKinds.HospitalMoved, a.HospitalId, $"answered from {node}, last time from {before}", _attemptStart);
            }
            _hospitalNodes[a.HospitalId] = node;
        }
        if (a.RestoredFromRound > 0)
        {
            _restored++;
            Publish(a.Round, RunEventKinds.HospitalRestored, a.HospitalId,
                $"restarted{(a.Node is null ? "" : $" on {a.Node}")} and restored its state from its round-{a.RestoredFromRound} snapshot", _attemptStart);
        }
    }

    private void Restore(CoordinatorSnapshot snapshot, string source)
    {
        if (snapshot.Global.Tensors.Count != _global.Tensors.Count)
            throw new InvalidDataException($"{source}: its global model has {snapshot.Global.Tensors.Count} tensors, this run's {_global.Tensors.Count}; is it another experiment's checkpoint?");
        if (snapshot.Method != _server.Method)
            throw new InvalidDataException($"{source}: written by method '{snapshot.Method}', this run's is '{_server.Method}'.");
        _server.LoadState(snapshot.MethodState, $"{source}, {snapshot.Method} state");
        _completedRound = snapshot.CompletedRound;
        _global = snapshot.Global;
        _clock = snapshot.SimulatedClock;
        _history.Clear();
        _history.AddRange(snapshot.History);
        foreach (var id in _hospitals) _clients[id] = _clients[id] with { Selected = 0, Aggregated = 0, Failed = 0, LastAggregated = 0 };
        foreach (var s in _history) Record(s);
        _resuming = true;
        _out.Add(new Notice($"Coordinator recovered after round {_completedRound} (global {_global.ContentHash[..12]})"));
    }

    private void Start()
    {
        if (_started && (_roundOpen || _awaitingCheckpoint)) return; // a second start while running
        _started = true;
        if (_completedRound >= _settings.Rounds)
        {
            Finish();
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
        _bytesUp = _bytesDown = 0;
        _traffic.Clear();
        _broadcasts.Clear();
        _roundWallStart = _wallSeconds() - (resumed ? _stalledSeconds : 0);
        _stalledSeconds = 0;
        _attempt = 0;
        _wanted = _rules.Wanted(_hospitals.Count);
        _attemptStart = _clock;
        _out.Add(new OfferGlobal(round, _global));
        _out.Add(new StartResending(round, _settings.ResendInterval));
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
            _out.Add(new CrashCoordinator(round));
            return;
        }
        TryCloseAttempt();
    }

    /// <summary>Asks the strategy for <paramref name="wanted"/> (over-selected) of the hospitals available and not yet asked this round, and asks them.</summary>
    private void StartAttempt(int wanted)
    {
        _attempt++;
        _attemptWanted = wanted;
        var count = _rules.OverSelected(wanted);
        var eligible = _hospitals.Where(id => !_participants.ContainsKey(id) && _settings.Availability.IsOn(id, _attemptStart)).ToList();
        var selected = Checked(_strategy.SelectClients(new ClientSelection(_round, _attempt, count, eligible, _clients,
            _attemptStart, ClientSelection.RandomFor(_settings.Seed, _round, _attempt))), eligible);
        _selecting = true;
        foreach (var id in selected)
        {
            var faults = _settings.Faults.For(_settings.Seed, _round, id);
            var conditions = _settings.Heterogeneity.For(id, _settings.Seed);
            var p = new Participant(id, _attempt, _attemptStart, faults, conditions, _settings.Availability.OnUntil(id, _attemptStart) ?? _attemptStart);
            _participants[id] = p;
            Publish(_round, RunEventKinds.Selected, id, _attempt == 1 ? "selected" : $"selected in retry {_attempt - 1}", _attemptStart);
            if (faults.SlowFactor != 1)
                Publish(_round, RunEventKinds.Slowed, id, $"scripted slowdown: computes {faults.SlowFactor:G4}× slower", _attemptStart);
            var broadcast = BroadcastTo(id);
            var download = Heterogeneity.TransferSeconds(_global.PayloadBytes + broadcast.Bytes, conditions);
            // A drop before or during training fires whatever happens to the request: it is what the plan asked for.
            if (faults.RequestLost && faults.Drop is null or DropoutStage.AfterUpload)
            {
                Settle(p, UpdateOutcome.Lost, "request lost in transit (injected)", _attemptStart);
                continue;
            }
            Count(id, ClientTraffic.Down, _global.PayloadBytes, broadcast);
            if (faults.RequestDelaySeconds > 0)
                Publish(_round, RunEventKinds.Delayed, id, $"request delayed {faults.RequestDelaySeconds:G4} s (injected)", _attemptStart);
            if (faults.Drop is DropoutStage.BeforeTraining)
            {
                // Crashed on receipt: nothing to send it, nothing will come back.
                Settle(p, UpdateOutcome.Dropped, faults.DropReason!, _attemptStart + faults.RequestDelaySeconds + download);
                continue;
            }
            if (faults.Drop is DropoutStage.DuringTraining)
            {
                // Its work dies with it: the hospital's state stays as after its last completed round.
                var failedAt = _attemptStart + faults.RequestDelaySeconds + download +
                               (double.IsFinite(_rules.DeadlineSeconds) ? faults.DropFraction * _rules.DeadlineSeconds : 0);
                Settle(p, UpdateOutcome.Dropped, faults.DropReason!, failedAt);
                continue;
            }
            p.Requested = true;
            if (faults.Malice is { } malice)
                Publish(_round, RunEventKinds.Corrupted, id, $"malicious (injected): its hospital uploads {malice.Describe()}", _attemptStart);
            _out.Add(RequestTo(p));
        }
        _selecting = false;
        ReportProgress();
        if (selected.Count < count)
            _out.Add(new Notice($"Round {_round} attempt {_attempt}: {selected.Count} of the {count} hospitals wanted are available"));
        _out.Add(new ArmTimeout(_round, _attempt, _settings.RoundTimeout));
    }

    private IReadOnlyList<string> Checked(IReadOnlyList<string> chosen, IReadOnlyList<string> eligible)
    {
        var available = eligible.ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in chosen)
        {
            if (!available.Contains(id))
                throw new InvalidOperationException($"strategy {_strategy.GetType().Name} chose '{id}' in round {_round}, attempt {_attempt}, which is not among the {eligible.Count} available hospitals");
            if (!seen.Add(id))
                throw new InvalidOperationException($"strategy {_strategy.GetType().Name} chose '{id}' twice in round {_round}, attempt {_attempt}");
        }
        return chosen.OrderBy(id => id, StringComparer.Ordinal).ToList();
    }

    /// <summary>Adds a closed round to every selected hospital's record.</summary>
    private void Record(RoundSummary s)
    {
        var failed = s.Dropped.Concat(s.Lost).Concat(s.Late).Concat(s.Rejected).ToHashSet(StringComparer.Ordinal);
        var aggregated = s.Aggregated.ToHashSet(StringComparer.Ordinal);
        foreach (var id in s.Selected)
        {
            if (!_clients.TryGetValue(id, out var c)) continue; // a hospital of an earlier layout of the run
            _clients[id] = c with
            {
                Selected = c.Selected + 1,
                Aggregated = c.Aggregated + (aggregated.Contains(id) ? 1 : 0),
                Failed = c.Failed + (failed.Contains(id) ? 1 : 0),
                LastAggregated = aggregated.Contains(id) ? s.Round : c.LastAggregated,
            };
        }
    }

    /// <summary>What the method's server sends <paramref name="hospitalId"/> beside this round's global: asked once per round and hospital, so resent requests carry the same.</summary>
    private MethodPayloads BroadcastTo(string hospitalId)
    {
        if (!_broadcasts.TryGetValue(hospitalId, out var broadcast))
            _broadcasts[hospitalId] = broadcast = _server.Broadcast(_round, hospitalId);
        return broadcast;
    }

    private void Announced(UpdateAnnounced a)
    {
        if (AwaitsUpdate(a.Round, a.HospitalId) && !Answers(a.RequestToken, a.HospitalId))
        {
            Unbound(a.Round, a.HospitalId);
            _out.Add(new IgnoreUpdate(a.Round, a.HospitalId, a.ContentHash));
            return;
        }
        if (AwaitsUpdate(a.Round, a.HospitalId))
        {
            Whereabouts(a);
            _out.Add(new FetchUpdate(a.Round, a.HospitalId, a.ContentHash));
            return;
        }
        Judge(a.Round, a.HospitalId, a.ContentHash, a.PayloadBytes);
        _out.Add(new IgnoreUpdate(a.Round, a.HospitalId, a.ContentHash));
    }

    private void Unavailable(UpdateUnavailable u)
    {
        // Not the hospital's fault (its node may have gone): it stays pending, and the next resend asks it again.
        if (AwaitsUpdate(u.Round, u.HospitalId))
            Publish(u.Round, RunEventKinds.FetchFailed, u.HospitalId, $"its weights could not be fetched ({u.Reason}); asking again at the next resend", _attemptStart);
    }

    private void Failed(HospitalFailed f)
    {
        if (!AwaitsUpdate(f.Round, f.HospitalId)) return;
        if (!Answers(f.RequestToken, f.HospitalId))
        {
            // Else anyone could drop an honest hospital by naming it.
            Unbound(f.Round, f.HospitalId);
            return;
        }
        Settle(_participants[f.HospitalId], UpdateOutcome.Dropped, f.Reason, _attemptStart);
        TryCloseAttempt();
    }

    private void Collect(UpdateArrived update)
    {
        var p = update.Round == _round && _roundOpen ? _participants.GetValueOrDefault(update.HospitalId) : null;
        if (p is not { Pending: true, Requested: true })
        {
            Judge(update.Round, update.HospitalId, update.Weights.ContentHash, update.Weights.PayloadBytes);
            return;
        }
        if (!Answers(update.RequestToken, update.HospitalId))
        {
            Unbound(update.Round, update.HospitalId);
            return;
        }
        Count(update.HospitalId, ClientTraffic.Up, update.Weights.PayloadBytes, update.Extras);
        if (p.Faults.Corrupt is { } corruption)
        {
            // Spoilt before the checks, as if on the way: the acceptance rules must catch it.
            update = update with { Weights = Corrupted(update.Weights, corruption) };
            Publish(_round, RunEventKinds.Corrupted, p.Id, corruption == Corruption.NaN
                ? "upload corrupted: a NaN in its first tensor (injected)"
                : $"upload corrupted: every value scaled by {ScaledCorruptionFactor:G3} (injected)", _attemptStart);
        }
        var problem = Validate(update);
        if (problem is not null)
        {
            Settle(p, UpdateOutcome.Rejected, problem, _attemptStart);
            TryCloseAttempt();
            return;
        }
        var f = p.Faults;
        var compute = _settings.Heterogeneity.ComputeSeconds(update.Steps, update.ComputeSeconds, p.Conditions.SpeedFactor * f.SlowFactor);
        var arrival = p.Start + f.RequestDelaySeconds + Heterogeneity.TransferSeconds(_global.PayloadBytes + BroadcastTo(p.Id).Bytes, p.Conditions) + compute +
                      Heterogeneity.TransferSeconds(update.Weights.PayloadBytes + update.Extras.Bytes, p.Conditions) + f.UploadDelaySeconds;
        if (f.UploadDelaySeconds > 0)
            Publish(_round, RunEventKinds.Delayed, p.Id, $"upload delayed {f.UploadDelaySeconds:G4} s (injected)", arrival);
        if (f.Drop is DropoutStage.AfterUpload) Settle(p, UpdateOutcome.Lost, f.DropReason!, arrival);
        else if (f.UploadLost) Settle(p, UpdateOutcome.Lost, "upload lost in transit (injected)", arrival);
        else if (arrival > p.OnUntil) Settle(p, UpdateOutcome.Dropped, $"went offline at {p.OnUntil:F1} s (availability trace) before its upload arrived at {arrival:F1} s", p.OnUntil);
        else if (arrival > p.Start + _rules.DeadlineSeconds)
            Settle(p, UpdateOutcome.Late, $"arrived at {arrival:F1} s, after the deadline at {p.Start + _rules.DeadlineSeconds:F1} s", arrival);
        else
        {
            p.Update = update;
            Settle(p, UpdateOutcome.Accepted, "accepted", arrival);
        }
        TryCloseAttempt();
    }

    /// <summary>An update that is not a pending participant's: for a closed or future round, unasked, or a second answer.</summary>
    private void Judge(int round, string hospitalId, string hash, long bytes)
    {
        // A stray reply is counted in the round open now, or the next one when none is: its event names that round too.
        var countedIn = _roundOpen ? _round : _round + 1;
        if (round < _round || (round == _round && !_roundOpen))
        {
            _stale++;
            Publish(countedIn, RunEventKinds.Stale, hospitalId, $"update for round {round}, which had closed", _clock);
            return;
        }
        if (round > _round)
        {
            _unexpected++;
            Publish(countedIn, RunEventKinds.Unexpected, hospitalId, $"update for round {round}, but round {_round} is open", _attemptStart);
            return;
        }
        var p = _participants.GetValueOrDefault(hospitalId);
        if (p is null || !p.Requested)
        {
            _unexpected++;
            Publish(round, RunEventKinds.Unexpected, hospitalId,
                p is null ? "not selected for this round" : $"was not asked for an update (it was {Describe(p.Outcome)})", _attemptStart);
            return;
        }
        _duplicates++;
        Publish(round, RunEventKinds.Duplicate, hospitalId,
            p.Update?.Weights.ContentHash == hash
                ? "repeat of its accepted update (the answer to a resent request); ignored"
                : $"a second update ({bytes} bytes) after its first was {Describe(p.Outcome)}; ignored", _attemptStart);
    }

    private static string Describe(UpdateOutcome? outcome) => outcome is { } o ? o.ToString().ToLowerInvariant() : "pending";

    /// <summary>What <see cref="Corruption.Scaled"/> multiplies an upload by.</summary>
    private const float ScaledCorruptionFactor = 1e30f;

    /// <summary>An update's L2 norm may be at most this many times the global model's (or 1, if that is smaller).</summary>
    public const double MaxUpdateNormRatio = 1e6;

    private static ModelWeights Corrupted(ModelWeights weights, Corruption corruption)
    {
        var spoilt = false;
        var tensors = weights.Tensors.Select(t =>
        {
            var values = (float[])t.Values.Clone();
            if (corruption == Corruption.Scaled)
                for (var i = 0; i < values.Length; i++) values[i] *= ScaledCorruptionFactor;
            else if (!spoilt && values.Length > 0)
            {
                values[0] = float.NaN;
                spoilt = true;
            }
            return t with { Values = values };
        }).ToList();
        return new ModelWeights(tensors);
    }

    // The global's norm, once per global model rather than once per update.
    private (ModelWeights? Of, double Norm) _globalNorm;

    private double GlobalNorm()
    {
        if (!ReferenceEquals(_globalNorm.Of, _global)) _globalNorm = (_global, Norm(_global));
        return _globalNorm.Norm;
    }

    private static double Norm(ModelWeights weights)
    {
        double sum = 0;
        foreach (var t in weights.Tensors)
        foreach (var v in t.Values)
            sum += (double)v * v;
        return Math.Sqrt(sum);
    }

    private string? Validate(UpdateArrived update)
    {
        if (update.Samples <= 0) return $"sample count {update.Samples}";
        if (_settings.ShardSizes?.GetValueOrDefault(update.HospitalId) is { } shard && update.Samples > shard)
            return $"hospital {update.HospitalId} claims {update.Samples} samples, but its shard holds {shard}";
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
        var (norm, globalNorm) = (Norm(update.Weights), GlobalNorm());
        if (!(norm <= MaxUpdateNormRatio * Math.Max(globalNorm, 1)))
            return $"norm {norm:G3} exceeds {MaxUpdateNormRatio:G3} × the global model's ({globalNorm:G3})";
        try
        {
            return _server.Check(update.Round, Contribution(update));
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            return e.Message;
        }
    }

    private static ClientContribution Contribution(UpdateArrived u) => new(u.HospitalId, u.Weights, u.Samples, u.Extras);

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

    private void Settle(Participant p, UpdateOutcome outcome, string reason, double at)
    {
        p.Outcome = outcome;
        p.At = at;
        // Accepted updates are reported once over-selection has picked the first k, at the attempt's close.
        if (outcome != UpdateOutcome.Accepted)
        {
            Publish(_round, KindOf(outcome), p.Id, reason, at);
            _strategy.OnFailure(new ClientFailure(_round, _attempt, p.Id, outcome, reason, at));
        }
        ReportProgress();
    }

    /// <summary>Live counts for progress displays: at once (events wait for the attempt's close, in simulated-time order).</summary>
    private void ReportProgress()
    {
        if (_selecting) return;
        var all = _participants.Values;
        _out.Add(new ReportProgress(new RoundProgress(_round, Math.Max(_attempt, 1), all.Count, all.Count(p => p.Pending && p.Requested),
            all.Count(p => p.Outcome == UpdateOutcome.Accepted), all.Count(p => p.Outcome is not (null or UpdateOutcome.Accepted or UpdateOutcome.Surplus)))));
    }

    private static string KindOf(UpdateOutcome outcome) => outcome switch
    {
        UpdateOutcome.Accepted => RunEventKinds.Accepted,
        UpdateOutcome.Surplus => RunEventKinds.Surplus,
        UpdateOutcome.Dropped => RunEventKinds.Dropped,
        UpdateOutcome.Lost => RunEventKinds.Lost,
        UpdateOutcome.Late => RunEventKinds.Late,
        _ => RunEventKinds.Rejected,
    };

    private void TimedOut(TimeoutElapsed t)
    {
        if (t.Round != _round || t.Attempt != _attempt || !_roundOpen) return;
        foreach (var p in _participants.Values.Where(p => p.Pending).OrderBy(p => p.Id, StringComparer.Ordinal))
            Settle(p, UpdateOutcome.Dropped, $"no answer within the wall-clock timeout of {_settings.RoundTimeout}", p.Start + _rules.DeadlineSeconds);
        TryCloseAttempt();
    }

    /// <summary>Once every participant of the attempt has an outcome: keep the first k, then aggregate, retry or skip.</summary>
    private void TryCloseAttempt()
    {
        if (!_roundOpen || _participants.Values.Any(p => p.Pending)) return;
        _out.Add(new DisarmTimeout());
        var attempt = _participants.Values.Where(p => p.Attempt == _attempt).ToList();
        BoundNorms(attempt);
        var onTime = attempt.Where(p => p.Outcome == UpdateOutcome.Accepted)
            .OrderBy(p => p.At).ThenBy(p => p.Id, StringComparer.Ordinal).ToList();
        var kept = onTime.Take(_attemptWanted).ToList();
        foreach (var p in onTime.Skip(_attemptWanted))
        {
            p.Update = null;
            Settle(p, UpdateOutcome.Surplus, $"over-selection: finished at {p.At:F1} s, after the first {_attemptWanted}", p.At);
        }
        foreach (var p in kept.OrderBy(p => p.Id, StringComparer.Ordinal))
            Publish(_round, RunEventKinds.Accepted, p.Id, $"arrived at {p.At:F1} s{p.Clipped}", p.At);
        FlushEvents();

        // The server stops waiting at the k-th arrival; short of k it waits for its deadline, if it has one.
        var end = kept.Count == _attemptWanted && kept.Count > 0 ? kept[^1].At
            : double.IsFinite(_rules.DeadlineSeconds) ? _attemptStart + _rules.DeadlineSeconds
            : attempt.Select(p => p.At).DefaultIfEmpty(_attemptStart).Max();
        end = Math.Max(end, _attemptStart);

        var accepted = _participants.Values.Count(p => p.Outcome == UpdateOutcome.Accepted);
        var required = _rules.RequiredUpdates(_wanted);
        if (accepted >= required)
        {
            Close(end, skip: false);
            return;
        }
        var untried = _hospitals.Count(id => !_participants.ContainsKey(id) && _settings.Availability.IsOn(id, end));
        if (_rules.OnTooFew == TooFewPolicy.Retry && _attempt <= _rules.MaxRetries && untried > 0)
        {
            Publish(_round, RunEventKinds.Retry, null,
                $"{accepted} of the {required} updates required; selecting {required - accepted} more (retry {_attempt} of {_rules.MaxRetries})", end);
            _attemptStart = end;
            StartAttempt(required - accepted);
            TryCloseAttempt();
            return;
        }
        Publish(_round, RunEventKinds.RoundSkipped, null,
            $"{accepted} of the {required} updates required{(_rules.OnTooFew == TooFewPolicy.Retry ? $" after {_attempt - 1} retries" : "")}; global model kept", end);
        Close(end, skip: true);
    }

    private void Close(double end, bool skip)
    {
        FlushEvents();
        _roundOpen = false;
        _out.Add(new StopTimers());
        List<string> With(UpdateOutcome o) => _participants.Values.Where(p => p.Outcome == o).Select(p => p.Id).OrderBy(id => id, StringComparer.Ordinal).ToList();
        var accepted = _participants.Values.Where(p => p.Outcome == UpdateOutcome.Accepted).Select(p => p.Update!)
            .OrderBy(u => u.HospitalId, StringComparer.Ordinal).ToList();
        var previous = _global;
        IReadOnlyDictionary<string, double> weights = new Dictionary<string, double>();
        IReadOnlyDictionary<string, double> factors = new Dictionary<string, double>();
        if (!skip)
        {
            var aggregate = Checked(_strategy.Aggregate(new RoundAggregation(_round, previous, accepted.Select(Contribution).ToList(), _server)), accepted);
            _global = aggregate.Global;
            weights = aggregate.ClientWeights;
            factors = aggregate.ClientFactors ?? factors;
        }
        var evaluate = _evaluate is not null && !skip &&
                       (_round == _settings.Rounds || (_settings.EvaluateEvery > 0 && _round % _settings.EvaluateEvery == 0));
        // Off this long-lived thread: libtorch's thread team for the evaluation would slow every training thread after it.
        var evaluation = evaluate ? TorchRuntime.OnPassingThread(() => _evaluate!(_global, _round)) : new Dictionary<string, double>();
        var summary = new RoundSummary
        {
            Round = _round,
            Selected = _participants.Keys.OrderBy(id => id, StringComparer.Ordinal).ToList(),
            Accepted = With(UpdateOutcome.Accepted),
            Aggregated = skip ? [] : accepted.Select(u => u.HospitalId).ToList(),
            Dropped = With(UpdateOutcome.Dropped),
            Lost = With(UpdateOutcome.Lost),
            Late = With(UpdateOutcome.Late),
            Rejected = With(UpdateOutcome.Rejected),
            Surplus = With(UpdateOutcome.Surplus),
            MeanLoss = accepted.Count == 0 ? double.NaN : accepted.Sum(u => u.MeanLoss * u.Samples) / accepted.Sum(u => (double)u.Samples),
            BytesDown = _bytesDown,
            BytesUp = _bytesUp,
            WallSeconds = _wallSeconds() - _roundWallStart,
            StaleReplies = _stale,
            UnexpectedReplies = _unexpected,
            DuplicateReplies = _duplicates,
            NodesJoined = _nodesJoined,
            NodesLost = _nodesLost,
            HospitalsMoved = _moved,
            HospitalsRestored = _restored,
            PrivacyEpsilon = _settings.Strategy is null
                ? _settings.Privacy.EpsilonAfter(_history.Count(h => !h.Skipped) + (skip ? 0 : 1), Math.Min(1, (double)_rules.OverSelected(_wanted) / _hospitals.Count)) : 0,
            Skipped = skip,
            GlobalHash = _global.ContentHash,
            Evaluation = evaluation,
            SimulatedSeconds = end - _clock,
            SimulatedClock = end,
            Attempts = _attempt,
            LocalSteps = accepted.Sum(u => (long)u.Steps),
            Traffic = _traffic.OrderBy(t => t.HospitalId, StringComparer.Ordinal).ThenBy(t => t.Direction, StringComparer.Ordinal).ToList(),
            AggregationWeights = weights,
            AggregationFactors = factors,
        };
        _stale = _unexpected = _duplicates = 0;
        _nodesJoined = _nodesLost = _moved = _restored = 0;
        _clock = end;
        _completedRound = _round;
        _history.Add(summary);
        Record(summary);
        if (!skip) Publish(_round, RunEventKinds.RoundClosed, null,
            string.Create(CultureInfo.InvariantCulture, $"aggregated {accepted.Count} of {summary.Selected.Count} selected"), end);
        _out.Add(new CloseRound(summary, _global, previous));
        if (_checkpoints)
        {
            // Hospitals must never be a round ahead of the newest checkpoint: the next round waits until it is written.
            _awaitingCheckpoint = true;
            _out.Add(new SaveCheckpoint(new CoordinatorSnapshot(_completedRound, _global, _clock, _history.ToList(), _server.Method, _server.SaveState())));
            return;
        }
        Advance();
    }

    /// <summary>
    /// The update-norm bound (<see cref="CoordinatorSettings.UpdateNorm"/>) on the attempt's newly accepted updates: each one's change
    /// from the global, against <see cref="UpdateNormBound.Factor"/> × the median change of every update accepted this round.
    /// Above it, an update is rejected or clipped to it. With a median of 0 there is nothing to compare against.
    /// </summary>
    private void BoundNorms(IReadOnlyList<Participant> attempt)
    {
        var bound = _settings.UpdateNorm;
        var fresh = attempt.Where(p => p.Outcome == UpdateOutcome.Accepted && !p.NormChecked).OrderBy(p => p.Id, StringComparer.Ordinal).ToList();
        if (bound.Mode == UpdateNormMode.Off || fresh.Count == 0) return;
        var norms = _participants.Values.Where(p => p.Outcome == UpdateOutcome.Accepted)
            .ToDictionary(p => p.Id, p => RobustAggregation.DeltaNorm(p.Update!.Weights, _global), StringComparer.Ordinal);
        var median = RobustAggregation.Median(norms.Values.ToList());
        var limit = bound.Factor * median;
        foreach (var p in fresh)
        {
            p.NormChecked = true;
            var norm = norms[p.Id];
            if (!(median > 0) || norm <= limit) continue;
            if (bound.Mode == UpdateNormMode.Reject)
            {
                Settle(p, UpdateOutcome.Rejected,
                    $"update norm {norm:G3} (its change from the global) exceeds {bound.Factor:G3} × the round's median of {median:G3}", p.At);
                continue;
            }
            p.Update = p.Update! with { Weights = RobustAggregation.ClipDelta(p.Update.Weights, _global, limit) };
            p.Clipped = $"; its change from the global clipped from norm {norm:G3} to {limit:G3} ({bound.Factor:G3} × the round's median)";
        }
    }

    private ServerAggregate Checked(ServerAggregate aggregate, IReadOnlyList<UpdateArrived> accepted)
    {
        var name = _strategy.GetType().Name;
        var layout = aggregate.Global.Tensors;
        if (layout.Count != _global.Tensors.Count || layout.Zip(_global.Tensors).Any(t => t.First.Name != t.Second.Name || !t.First.Shape.SequenceEqual(t.Second.Shape)))
            throw new InvalidOperationException($"strategy {name} aggregated round {_round} into a model of another layout than the global's");
        var ids = accepted.Select(u => u.HospitalId).ToHashSet(StringComparer.Ordinal);
        if (aggregate.ClientWeights.Keys.FirstOrDefault(id => !ids.Contains(id)) is { } stranger)
            throw new InvalidOperationException($"strategy {name} gave weight to '{stranger}' in round {_round}, whose update was not accepted");
        var sum = aggregate.ClientWeights.Values.Sum();
        if (aggregate.ClientWeights.Values.Any(w => !(w >= 0)) || Math.Abs(sum - 1) > 1e-6)
            throw new InvalidOperationException($"strategy {name}'s aggregation weights in round {_round} must be non-negative and sum to 1, found a sum of {sum:G6}");
        return aggregate;
    }

    private void CheckpointDone()
    {
        if (!_awaitingCheckpoint) return;
        _awaitingCheckpoint = false;
        Advance();
    }

    private void Advance()
    {
        if (_completedRound < _settings.Rounds) BeginRound(_completedRound + 1);
        else Finish();
    }

    private void Finish() => _out.Add(new FinishRun(new RunCompleted(_global, _history.ToList())));

    private void Publish(int round, string kind, string? hospitalId, string reason, double at)
    {
        var e = new RunEvent(round, round == _round ? Math.Max(_attempt, 1) : 1, kind, hospitalId, reason, at);
        if (_roundOpen && round == _round) _attemptEvents.Add(e);
        else _out.Add(new PublishEvent(e));
    }

    /// <summary>Publishes the attempt's events by simulated time, then hospital, then selection before faults before outcomes.</summary>
    private void FlushEvents()
    {
        static int Rank(string kind) => kind switch { RunEventKinds.Selected => 0, RunEventKinds.Slowed => 1, RunEventKinds.Delayed => 2, RunEventKinds.Corrupted => 2, _ => 3 };
        var ordered = _attemptEvents.OrderBy(e => e.SimulatedSeconds).ThenBy(e => e.HospitalId ?? "", StringComparer.Ordinal)
            .ThenBy(e => Rank(e.Kind)).ToList(); // stable: equal keys keep the order they happened in
        _attemptEvents.Clear();
        foreach (var e in ordered) _out.Add(new PublishEvent(e));
    }
}
