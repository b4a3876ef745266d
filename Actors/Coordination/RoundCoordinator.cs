using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;
using FedActors.Actors.Rounds;
using FedActors.Training.Methods;
using FedActors.Training.Weights;

namespace FedActors.Actors.Coordination;

/// <summary>Evaluates a global model; returns named figures (e.g. probe accuracy).</summary>
public delegate IReadOnlyDictionary<string, double> GlobalModelEvaluator(ModelWeights global, int round);

/// <summary>
/// The round coordinator: a thin shell around the <see cref="RoundEngine"/>, which holds every rule of
/// the rounds. It turns messages (updates, timers, the transfer's answers, snapshots) into the engine's
/// inputs, and the engine's decisions into messages, timers and persistence. With
/// <see cref="CoordinatorPersistence"/> configured it checkpoints every round and recovers after a crash
/// (restart, singleton move, or a new process) from the last completed one. Weights travel by reference
/// through this node's <c>WeightsTransfer</c> (in one process, the hospitals' too).
/// </summary>
public sealed class RoundCoordinator : ReceivePersistentActor, IWithTimers
{
    /// <summary>The persistence id of a run's coordinator unless told otherwise.</summary>
    public const string DefaultPersistenceId = "round-coordinator";

    // Sent to itself before a restart, so the new incarnation keeps its listeners and continues the run.
    private sealed record ContinueAfterCrash(IReadOnlyList<IActorRef> Listeners, IReadOnlyList<IActorRef> GlobalListeners, IActorRef? Requester) : INoSerializationVerificationNeeded;
    // Sent to itself after recovering an unfinished run (a moved singleton, a new process): nobody else knows it must go on.
    private sealed record ContinueRecoveredRun : INoSerializationVerificationNeeded;
    // The engine's inputs that come from timers or from this node's transfer, delivered through the mailbox.
    private sealed record Input(RoundInput Value) : INoSerializationVerificationNeeded;
    // Local replies of this node's transfer actor, piped back with what the upload said.
    private sealed record UploadFetched(LocalUpdateByRef Upload, ModelWeights Weights) : INoSerializationVerificationNeeded;
    private sealed record UploadFetchFailed(LocalUpdateByRef Upload, Exception Cause) : INoSerializationVerificationNeeded;

    /// <summary>Thrown to crash the coordinator when the fault plan says so.</summary>
    /// <param name="message">Says which scripted crash fired.</param>
    public sealed class InjectedCrash(string message) : Exception(message);

    private readonly RoundEngine _engine;
    private readonly IHospitalDirectory _hospitals;
    private readonly IActorRef _transfer;
    private readonly bool _inCluster;
    private readonly TimeSpan _roundTimeout;
    private readonly bool _persist;
    private readonly string _persistenceId;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<IActorRef> _listeners = new();
    private readonly List<IActorRef> _globalListeners = new();
    // What a run that continued by itself published before anyone subscribed: the first subscriber gets it.
    private readonly List<object> _held = new();
    private const int MaxHeld = 10_000;
    private bool _holdForListener;
    private IActorRef? _requester;
    private WeightsRef? _globalRef; // this round's offered global; null until the transfer answers
    private readonly Dictionary<(string HospitalId, string Hash), LocalUpdateByRef> _fetching = new();
    private readonly List<WeightsRef> _fetched = new(); // uploads fetched this round, released here and at their owners after aggregation

    /// <summary>Use <see cref="Props(CoordinatorSettings, IHospitalDirectory, ModelWeights, IActorRef, GlobalModelEvaluator?, IWorkerNodes?, string, Func{IFederatedServer}?)"/>.</summary>
    public RoundCoordinator(CoordinatorSettings settings, IHospitalDirectory hospitals, ModelWeights initialGlobal, IActorRef transfer,
        GlobalModelEvaluator? evaluate, IWorkerNodes? workers = null, string persistenceId = DefaultPersistenceId,
        Func<IFederatedServer>? createServer = null)
    {
        _persist = CoordinatorPersistence.IsEnabled(Context.System);
        _engine = new RoundEngine(settings, hospitals.HospitalIds, initialGlobal, createServer?.Invoke(), evaluate, workers, checkpoints: _persist,
            requestKey: System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)); // each incarnation's own: a forger cannot guess a request's token
        _hospitals = hospitals;
        _inCluster = workers is not null;
        _transfer = transfer ?? throw new ArgumentNullException(nameof(transfer), "A run needs its node's weights transfer: weights travel by reference.");
        _roundTimeout = settings.RoundTimeout;
        _persistenceId = persistenceId;
        JournalPluginId = CoordinatorPersistence.JournalPluginId;
        if (!_persist) SnapshotPluginId = CoordinatorPersistence.NoSnapshotStore; // else the configured default store

        Recover<SnapshotOffer>(offer => Apply(new RecoveredFromSnapshot((CoordinatorSnapshot)offer.Snapshot, $"coordinator snapshot of {PersistenceId} ({offer.Metadata.Timestamp:O})",
            RecoveredFromSnapshot.StallUntilNow(offer.Metadata.Timestamp))));

        Command<SubscribeToRun>(s =>
        {
            if (!Cluster.ClusterStrangers.Admits(Context, s.Listener, "a run subscription")) return;
            if (!_listeners.Contains(s.Listener)) _listeners.Add(s.Listener);
            foreach (var held in _held) s.Listener.Tell(held);
            _held.Clear();
            _holdForListener = false;
        });
        Command<SubscribeToGlobals>(s =>
        {
            if (!_globalListeners.Contains(s.Listener)) _globalListeners.Add(s.Listener);
            // After a failover or a resume: the last round's global, which a listener on a node that died may not have written.
            if (_engine.CompletedRound > 0) s.Listener.Tell(new GlobalAfterRound(_engine.CompletedRound, _engine.Global));
        });
        Command<ContinueRecoveredRun>(_ =>
        {
            if (_engine.Started) return; // a StartRun or a restart got here first
            _holdForListener = _listeners.Count == 0;
            Apply(new RunStartRequested());
        });
        Command<ContinueAfterCrash>(c =>
        {
            foreach (var l in c.Listeners.Where(l => !_listeners.Contains(l))) _listeners.Add(l);
            foreach (var l in c.GlobalListeners.Where(l => !_globalListeners.Contains(l))) _globalListeners.Add(l);
            _requester ??= c.Requester;
            Apply(new RunStartRequested(AfterCrash: true));
        });
        Command<StartRun>(_ => { _requester = Sender; Apply(new RunStartRequested()); });
        Command<LocalUpdateByRef>(u =>
        {
            // The answer to a resent request whose weights are already on their way: nothing new.
            if (_fetching.ContainsKey((u.HospitalId, u.Weights.ContentHash))) return;
            _fetching[(u.HospitalId, u.Weights.ContentHash)] = u;
            Apply(new UpdateAnnounced(u.Round, u.HospitalId, u.Weights.ContentHash, u.Weights.PayloadBytes, u.Node, u.RestoredFromRound) { RequestToken = u.RequestToken });
        });
        Command<WeightsRef>(offered =>
        {
            // The engine's global is the open round's until it closes: an offer of another is a stale answer.
            if (_globalRef is not null || offered.ContentHash != _engine.Global.ContentHash) return;
            _globalRef = offered;
            foreach (var r in _engine.OutstandingRequests()) Send(r);
        });
        Command<Input>(i => Apply(i.Value));
        Command<HospitalTrainingFailed>(f => Apply(new HospitalFailed(f.Round, f.HospitalId, f.Reason) { RequestToken = f.RequestToken }));
        Command<UploadFetched>(f =>
        {
            var u = f.Upload;
            _fetching.Remove((u.HospitalId, u.Weights.ContentHash));
            _fetched.Add(u.Weights);
            Apply(new UpdateArrived(u.Round, u.HospitalId, f.Weights, u.Samples, u.MeanLoss, u.Steps, u.ComputeSeconds, u.Extras ?? MethodPayloads.Empty) { RequestToken = u.RequestToken });
        });
        Command<UploadFetchFailed>(f =>
        {
            _fetching.Remove((f.Upload.HospitalId, f.Upload.Weights.ContentHash));
            Apply(new UpdateUnavailable(f.Upload.Round, f.Upload.HospitalId, f.Cause.Message));
        });
        Command<SaveSnapshotSuccess>(s =>
        {
            DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue, s.Metadata.Timestamp.AddTicks(-1)));
            Apply(new CheckpointWritten());
        });
        Command<SaveSnapshotFailure>(f =>
        {
            _log.Warning("Round {0}'s coordinator snapshot was not saved ({1}); a crash now resumes from the one before", _engine.CompletedRound, f.Cause.Message);
            Apply(new CheckpointWritten(f.Cause.Message, StorageErrors.IsFull(f.Cause)));
        });
        // A worker gone: its hospitals restart on a survivor, so the silent ones are asked again now, not at the next resend.
        Command<Akka.Cluster.ClusterEvent.MemberRemoved>(m => { if (m.Member.HasRole(Cluster.NodeRoles.Worker)) Apply(new NodeLost(m.Member.Address.ToString())); });
        Command<Akka.Cluster.ClusterEvent.MemberUp>(m => { if (m.Member.HasRole(Cluster.NodeRoles.Worker)) Apply(new NodeJoined(m.Member.Address.ToString())); });
        Command<Akka.Cluster.ClusterEvent.CurrentClusterState>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("Older coordinator snapshots not deleted: {0}", f.Cause.Message));
    }

    /// <inheritdoc />
    public ITimerScheduler Timers { get; set; } = null!;

    /// <inheritdoc />
    public override string PersistenceId => _persistenceId;

    /// <summary>Props of a coordinator that runs <paramref name="settings"/>' rounds over <paramref name="hospitals"/>, on the coordinator dispatcher.</summary>
    /// <param name="settings">How the rounds run: count, selection, deadlines, injected faults, seed.</param>
    /// <param name="hospitals">How hospitals are reached: local actors or a shard region.</param>
    /// <param name="initialGlobal">The global model before round 1 (a recovered coordinator continues from its checkpoint's instead).</param>
    /// <param name="transfer">This node's <c>WeightsTransfer</c>, where the global is offered and uploads are fetched.</param>
    /// <param name="evaluate">Evaluates the global model every <see cref="CoordinatorSettings.EvaluateEvery"/> rounds and after the last; null evaluates nothing.</param>
    /// <param name="workers">The cluster's worker nodes, for scripted worker crashes; null outside cluster mode.</param>
    /// <param name="persistenceId">The coordinator's persistence id, under which its round checkpoints are snapshotted; the same id recovers them.</param>
    /// <param name="createServer">The method's server side, made for each incarnation (its state comes back from the checkpoint); null is FedAvg.</param>
    public static Props Props(CoordinatorSettings settings, IHospitalDirectory hospitals, ModelWeights initialGlobal, IActorRef transfer,
        GlobalModelEvaluator? evaluate = null, IWorkerNodes? workers = null, string persistenceId = DefaultPersistenceId,
        Func<IFederatedServer>? createServer = null) =>
        Akka.Actor.Props.Create(() => new RoundCoordinator(settings, hospitals, initialGlobal, transfer, evaluate, workers, persistenceId, createServer))
            .WithDispatcher(Dispatchers.Coordinator);

    /// <summary>A coordinator of hospitals that are actors of this process.</summary>
    public static Props Props(CoordinatorSettings settings, IReadOnlyDictionary<string, IActorRef> hospitals,
        ModelWeights initialGlobal, IActorRef transfer, GlobalModelEvaluator? evaluate = null, string persistenceId = DefaultPersistenceId,
        Func<IFederatedServer>? createServer = null) =>
        Props(settings, new LocalHospitals(hospitals), initialGlobal, transfer, evaluate, persistenceId: persistenceId, createServer: createServer);

    /// <inheritdoc />
    protected override void PreStart()
    {
        if (_inCluster) Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, Akka.Cluster.ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(Akka.Cluster.ClusterEvent.MemberRemoved), typeof(Akka.Cluster.ClusterEvent.MemberUp));
        base.PreStart();
    }

    /// <inheritdoc />
    protected override void PostStop()
    {
        if (_inCluster) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        base.PostStop();
    }

    /// <inheritdoc />
    protected override void PreRestart(Exception reason, object message)
    {
        // The mailbox survives the restart: the new incarnation reads this after recovering its snapshot.
        if (_engine.Started) Self.Tell(new ContinueAfterCrash(_listeners.ToList(), _globalListeners.ToList(), _requester));
        base.PreRestart(reason, message);
    }

    /// <summary>A recovered run that has rounds left goes on by itself: after a singleton move nobody sends it <see cref="StartRun"/>.</summary>
    protected override void OnReplaySuccess()
    {
        if (_engine.HasRunToContinue) Self.Tell(new ContinueRecoveredRun());
        base.OnReplaySuccess();
    }

    private void Apply(RoundInput input)
    {
        foreach (var decision in _engine.Handle(input)) Carry(decision);
    }

    private void Carry(RoundDecision decision)
    {
        switch (decision)
        {
            case OfferGlobal o:
                _globalRef = null;
                _transfer.Tell(new OfferWeights(o.Global), Self); // requests go out when its WeightsRef comes back
                break;
            case SendRequest r: Send(r); break;
            case FetchUpdate f:
                var upload = _fetching[(f.HospitalId, f.ContentHash)];
                _transfer.Ask<WeightsFetched>(new FetchWeights(upload.Weights), _roundTimeout)
                    .PipeTo(Self, success: w => new UploadFetched(upload, w.Weights), failure: e => new UploadFetchFailed(upload, e));
                break;
            case IgnoreUpdate i:
                var ignored = _fetching[(i.HospitalId, i.ContentHash)].Weights;
                _fetching.Remove((i.HospitalId, i.ContentHash));
                // Never fetched, so never released with the round's uploads: its owner may drop it now (a passivated hospital
                // would never release it), unless the same weights are a global here or on their way in for someone else.
                if (i.ContentHash != _engine.Global.ContentHash && !_fetching.Keys.Any(k => k.Hash == i.ContentHash))
                    ignored.Owner.Tell(new ReleaseWeights(i.ContentHash));
                break;
            case PublishEvent e: Broadcast(e.Event); break;
            case ReportProgress p: foreach (var l in _listeners) l.Tell(p.Progress); break;
            case ArmTimeout t: Timers.StartSingleTimer("deadline", new Input(new TimeoutElapsed(t.Round, t.Attempt)), t.After); break;
            case DisarmTimeout: Timers.Cancel("deadline"); break;
            case StartResending r: Timers.StartPeriodicTimer("resend", new Input(new ResendDue(r.Round)), r.Every); break;
            case StopTimers:
                Timers.Cancel("deadline");
                Timers.Cancel("resend");
                break;
            case CrashCoordinator c: throw new InjectedCrash($"Injected coordinator crash in round {c.Round}");
            case CloseRound c:
                ReleaseTransfers(c.PreviousGlobal, c.Global);
                Broadcast(new RoundClosed(c.Summary));
                foreach (var l in _globalListeners) l.Tell(new GlobalAfterRound(c.Summary.Round, c.Global));
                break;
            case SaveCheckpoint s: SaveSnapshot(s.Snapshot); break;
            case FinishRun f:
                Broadcast(f.Completed);
                if (_requester is not null && !_listeners.Contains(_requester)) _requester.Tell(f.Completed);
                break;
            case Notice n: _log.Info(n.Message); break;
            default: throw new InvalidOperationException($"no way to carry out {decision.GetType().Name}");
        }
    }

    /// <summary>Sends a request once the global's reference is known; until then the offer's answer sends the outstanding ones.</summary>
    private void Send(SendRequest r)
    {
        if (_globalRef is not null) _hospitals.Tell(r.HospitalId, new TrainRoundByRef(r.Round, _globalRef, r.Broadcast) { RequestToken = r.RequestToken, Malice = r.Malice }, Self);
    }

    /// <summary>Once a round is aggregated neither its global nor the copies of its uploads are needed on this node.</summary>
    private void ReleaseTransfers(ModelWeights previousGlobal, ModelWeights global)
    {
        if (previousGlobal.ContentHash != global.ContentHash) _transfer.Tell(new ReleaseWeights(previousGlobal.ContentHash));
        _globalRef = null;
        // Each upload's offer too, at its owner: a passivated hospital is gone before its next offer would release it,
        // and a resident one asked again re-offers the same weights. Never this node's own global offers.
        var globals = new[] { global.ContentHash, previousGlobal.ContentHash };
        foreach (var upload in _fetched)
        {
            if (!upload.Owner.Equals(_transfer)) upload.Owner.Tell(new ReleaseWeights(upload.ContentHash));
            if (!globals.Contains(upload.ContentHash)) _transfer.Tell(new ReleaseWeights(upload.ContentHash));
        }
        _fetched.Clear();
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
}
