using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;
using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Methods;
using FedActors.Training.Models;
using FedActors.Training.Objectives;
using FedActors.Training.Weights;

namespace FedActors.Actors.Hospitals;

/// <summary>Whether a hospital stops between its rounds, and whom it tells that it may.</summary>
public enum HospitalPassivation
{
    /// <summary>Resident: it keeps its learner between rounds.</summary>
    Off,

    /// <summary>Under a <see cref="HospitalHost"/> (one process): it reports <see cref="HospitalIdle"/>, and the host stops it.</summary>
    ByHost,

    /// <summary>A shard region's entity (cluster mode): it asks its shard to passivate it, with <see cref="StopHospital"/> as the stop message.</summary>
    BySharding,
}

/// <summary>How a hospital comes to life: its id, its data shard, and how to build its local learner.</summary>
/// <param name="HospitalId">The hospital's id, unique in the run.</param>
/// <param name="LoadShard">Loads its local training data; called when the hospital actor first trains (again after it was restarted or passivated).</param>
/// <param name="CreateLearner">Builds its local learner (the method's client side); the hospital owns and disposes what it returns.</param>
public sealed record HospitalDefinition(string HospitalId, Func<ImageShard> LoadShard, Func<ILocalLearner> CreateLearner)
{
    /// <summary>Device memory the hospital needs while it trains, asked for with every lease; 0: not said.</summary>
    public long MemoryBytes { get; init; }
}

/// <summary>
/// One hospital: owns its data shard and its local learner (encoder, key encoder, queue,
/// optimiser state, RNG), which persist across rounds. Trains on the dedicated training
/// dispatcher; only weights leave it, offered on its node's <c>WeightsTransfer</c> and answered as a
/// <see cref="LocalUpdateByRef"/>. A round's request (<see cref="TrainRoundByRef"/>) names the global weights by reference:
/// it fetches them through the same transfer first (in one process, the very object the coordinator offered). Given a node's
/// <c>DeviceSlots</c>, it trains only while holding one of its leases, on the leased device.
/// With <see cref="HospitalPersistence"/> configured it snapshots the learner after every round,
/// answers once that snapshot is written, and, started again with the same id (here or on
/// another node), continues from there.
/// Passivating (<see cref="HospitalPassivation"/>), it stops once a round is answered and on disk; started again, it
/// loads its snapshot only when it first needs its learner, into networks a stopped hospital parked.
/// </summary>
public sealed class HospitalActor : ReceivePersistentActor
{
    /// <summary>Used when snapshots are off: answers every load with "none" and is never asked to save.</summary>
    private const string NoSnapshotStore = "akka.persistence.no-snapshot-store";
    // A fetch gives up by itself after its chunk timeouts; this only guards against a lost reply.
    private static readonly TimeSpan TransferTimeout = TimeSpan.FromMinutes(5);

    // Local replies of this node's transfer actor, piped back with what they are for.
    private sealed record GlobalFetched(TrainRoundByRef Request, IActorRef ReplyTo, ModelWeights? Weights, Exception? Cause) : INoSerializationVerificationNeeded;
    private sealed record UploadOffered(LocalUpdate Upload, IActorRef ReplyTo, WeightsRef? Ref, Exception? Cause, object Incarnation) : INoSerializationVerificationNeeded;

    /// <summary>A round to train, its global fetched.</summary>
    private sealed record RoundWork(int Round, ModelWeights Global, MethodPayloads? Broadcast, ulong RequestToken = 0, Faults.Malice? Malice = null);

    /// <summary>To itself across a restart: the round whose training threw, to train again from the restored state.</summary>
    private sealed record RetryTraining(RoundWork Request, int Attempt) : INoSerializationVerificationNeeded;

    /// <summary>
    /// Trainings that throw are retried at once this many times, each from the state the restart restored; after that
    /// the hospital reports <see cref="HospitalTrainingFailed"/> and the coordinator drops it for the round. A transient
    /// native failure (see ScalarSafeSgd) then costs one round's training, not a resend interval.
    /// </summary>
    private const int ImmediateRetries = 2;

    private readonly HospitalDefinition _definition;
    private readonly IActorRef? _deviceSlots;
    private readonly IActorRef _transfer;
    private string? _offeredHash; // the upload this hospital keeps offered, released when the next is offered
    private readonly bool _persist;
    private readonly HospitalPassivation _passivation;
    private bool Passivates => _passivation != HospitalPassivation.Off;
    private bool _passivating; // asked to be stopped: asked once
    private int _offering; // uploads this incarnation is offering on the node's transfer, whose answers are still to go
    private readonly object _incarnation = new(); // an offer made before a restart is answered, but not counted here
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Rounds whose snapshots are in flight, oldest first (saves normally complete in order).
    private readonly Queue<int> _saving = new();
    private ImageShard? _shard;
    private ILocalLearner? _learner;
    // Passivating: the snapshot recovered but not yet loaded, until the learner is needed (see Restore).
    private (HospitalSnapshot Snapshot, string Source)? _unloaded;
    private HospitalSnapshot? _restored; // the round it was restored after, for answering that round again (LastUpdate)
    private int _restoredFromRound; // reported with the next answer: this incarnation restored that round's snapshot (not by passivation)
    private int _lastRound;
    private int _savedRound;
    private int _stateBytes; // of the last snapshot's learner state
    private LocalUpdate? _lastUpdate;
    private bool _stopWhenSaved;
    private (RoundWork Request, IActorRef ReplyTo, int Attempt)? _training; // the round being trained, for a retry
    private int _attempt; // of the next training: above 0 when it is a retry
    // Answers held until their round's snapshot is written: the coordinator checkpoints a round once
    // every answer is in, so a resumed run never finds a hospital behind the round it resumes after.
    private readonly List<(LocalUpdate Update, IActorRef ReplyTo)> _awaitingSave = new();

    /// <summary>Builds the hospital; see <see cref="Props"/> for the parameters.</summary>
    public HospitalActor(HospitalDefinition definition, IActorRef transfer, IActorRef? deviceSlots = null,
        HospitalPassivation passivation = HospitalPassivation.Off)
    {
        _definition = definition;
        _passivation = passivation;
        _deviceSlots = deviceSlots;
        _transfer = transfer ?? throw new ArgumentNullException(nameof(transfer), "A hospital needs its node's weights transfer: weights travel by reference.");
        _persist = HospitalPersistence.IsEnabled(Context.System);
        JournalPluginId = HospitalPersistence.JournalPluginId;
        if (!_persist) SnapshotPluginId = NoSnapshotStore; // else the configured default store
        Recover<SnapshotOffer>(Restore);
        Ready();
    }

    /// <summary>The hospital's props, on the training dispatcher.</summary>
    /// <param name="definition">Its id, data shard and learner.</param>
    /// <param name="transfer">This node's <c>WeightsTransfer</c>: where it fetches each round's global and offers its uploads.</param>
    /// <param name="deviceSlots">This node's <c>DeviceSlots</c>; without one the hospital trains at once, where its learner was built.</param>
    /// <param name="passivation">Whether it stops once a round is answered and snapshotted, and whom it tells.</param>
    public static Props Props(HospitalDefinition definition, IActorRef transfer, IActorRef? deviceSlots = null,
        HospitalPassivation passivation = HospitalPassivation.Off) =>
        Akka.Actor.Props.Create(() => new HospitalActor(definition, transfer, deviceSlots, passivation))
            .WithDispatcher(Dispatchers.Training);

    /// <summary>"hospital-" and its id: the same wherever it is started, so it finds its snapshots.</summary>
    public override string PersistenceId => $"hospital-{_definition.HospitalId}";

    private void Ready()
    {
        Command<RetryTraining>(retry =>
        {
            if (retry.Request.Round <= _lastRound) return; // answered meanwhile (a resend got there first)
            _attempt = retry.Attempt;
            StartTraining(retry.Request, Sender);
        });
        Command<TrainRoundByRef>(request =>
        {
            if (request.Round <= _lastRound)
            {
                // A resent request (the coordinator did not hear back): answer again, never retrain.
                if (request.Round == _lastRound && LastUpdate() is { } last) Answer(last with { RequestToken = request.RequestToken }, Sender);
                ReportIdleIfDone();
                return;
            }
            AwaitGlobal(_transfer, request, Sender);
        });
        Command<StopHospital>(_ =>
        {
            // Hand-off or passivation: stop at once unless a snapshot or an answer is still on its way, then once it is.
            if (NothingPending) Context.Stop(Self);
            else _stopWhenSaved = true;
        });
        Command<GetLocalState>(_ =>
        {
            Sender.Tell(new LocalStateReport(_definition.HospitalId, _lastRound, _savedRound, (_unloaded is null ? _learner : Learner())?.DescribeState()));
            ReportIdleIfDone();
        });
        SnapshotBookkeeping();
    }

    private void StartTraining(RoundWork request, IActorRef replyTo)
    {
        if (_deviceSlots is null) Train(request, replyTo, device: null);
        else AwaitLease(_deviceSlots, request, replyTo);
    }

    // The fetch step before a by-reference round: like the lease step, everything else waits in the stash.
    private void AwaitGlobal(IActorRef transfer, TrainRoundByRef request, IActorRef replyTo)
    {
        transfer.Ask<WeightsFetched>(new FetchWeights(request.Global), TransferTimeout)
            .PipeTo(Self, success: f => new GlobalFetched(request, replyTo, f.Weights, null),
                failure: e => new GlobalFetched(request, replyTo, null, e));
        Become(() =>
        {
            Command<GlobalFetched>(fetched =>
            {
                Become(Ready);
                Stash.UnstashAll();
                if (fetched.Weights is null)
                {
                    // No answer: the coordinator resends the request, and the next one fetches again.
                    _log.Warning("{0}: global weights of round {1} not fetched: {2}", _definition.HospitalId, request.Round, fetched.Cause?.Message);
                    ReportIdleIfDone();
                    return;
                }
                StartTraining(new RoundWork(request.Round, fetched.Weights, request.Broadcast, request.RequestToken, request.Malice), replyTo);
            });
            SnapshotBookkeeping();
            CommandAny(_ => Stash.Stash());
        });
    }

    // The lease step before training: everything else waits in the stash until the slot is ours.
    private void AwaitLease(IActorRef deviceSlots, RoundWork request, IActorRef replyTo)
    {
        deviceSlots.Tell(new RequestLease(_definition.HospitalId, _definition.MemoryBytes));
        Become(() =>
        {
            Command<LeaseRefused>(refused =>
            {
                _log.Warning("{0}: no device can hold it: {1}", _definition.HospitalId, refused.Reason);
                replyTo.Tell(new HospitalTrainingFailed(request.Round, _definition.HospitalId, $"no device can hold it: {refused.Reason}") { RequestToken = request.RequestToken }, Self);
                Become(Ready);
                Stash.UnstashAll();
            });
            Command<LeaseGranted>(lease =>
            {
                var released = false;
                void Release()
                {
                    if (released) return;
                    released = true;
                    deviceSlots.Tell(new ReleaseLease(lease.LeaseId));
                }
                try { Train(request, replyTo, TorchRuntime.ParseDevice(lease.Device), Release); }
                finally { Release(); }
                Become(Ready);
                Stash.UnstashAll();
            });
            SnapshotBookkeeping();
            CommandAny(_ => Stash.Stash());
        });
    }

    private void SnapshotBookkeeping()
    {
        Command<SaveSnapshotSuccess>(Saved);
        Command<SaveSnapshotFailure>(f =>
        {
            var round = _saving.TryDequeue(out var r) ? r : _lastRound;
            _log.Warning("{0}: snapshot of round {1} not saved ({2}); the previous one stays current", PersistenceId, round, f.Cause.Message);
            AnswerSaved(round);
            StopIfHandedOff();
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("{0}: older snapshots not deleted: {1}", PersistenceId, f.Cause.Message));
        // Also while fetching or leasing, so a resent request's answer is not held up by training.
        Command<UploadOffered>(Offered);
    }

    /// <summary>Offers the upload's weights on this node (cheap, local) and answers with the reference once it is back.</summary>
    private void ReplyByRef(LocalUpdate upload, IActorRef replyTo)
    {
        _offering++;
        _transfer.Ask<WeightsRef>(new OfferWeights(upload.Weights), TransferTimeout)
            .PipeTo(Self, success: r => new UploadOffered(upload, replyTo, r, null, _incarnation),
                failure: e => new UploadOffered(upload, replyTo, null, e, _incarnation));
    }

    private void Offered(UploadOffered offered)
    {
        if (ReferenceEquals(offered.Incarnation, _incarnation)) _offering--;
        try { Reply(offered); }
        finally
        {
            ReportIdleIfDone();
            StopIfHandedOff();
        }
    }

    private void Reply(UploadOffered offered)
    {
        if (offered.Ref is null)
        {
            _log.Warning("{0}: upload of round {1} not offered: {2}", _definition.HospitalId, offered.Upload.Round, offered.Cause?.Message);
            return;
        }
        var u = offered.Upload;
        var hash = offered.Ref.ContentHash;
        if (hash != _offeredHash && u.Round == _lastRound)
        {
            // Only the last round's upload can still be asked for: the previous one is no longer needed.
            if (_offeredHash is not null) _transfer.Tell(new ReleaseWeights(_offeredHash));
            _offeredHash = hash;
        }
        // Answered after a newer round trained: that round is closed, so nobody will fetch this upload.
        else if (hash != _offeredHash) _transfer.Tell(new ReleaseWeights(hash));
        offered.ReplyTo.Tell(new LocalUpdateByRef(u.Round, u.HospitalId, offered.Ref, u.Samples, u.MeanLoss, u.Steps, u.ComputeSeconds, u.Extras)
        {
            Node = ((ExtendedActorSystem)Context.System).Provider.DefaultAddress.ToString(),
            RestoredFromRound = _restoredFromRound,
            RequestToken = u.RequestToken,
        });
        _restoredFromRound = 0;
    }

    private void Restore(SnapshotOffer offer)
    {
        var snapshot = (HospitalSnapshot)offer.Snapshot;
        var source = $"snapshot of {PersistenceId} after round {snapshot.LastRound} ({offer.Metadata.Timestamp:O})";
        if (snapshot.HospitalId != _definition.HospitalId)
            throw new InvalidDataException($"{source}: belongs to hospital '{snapshot.HospitalId}'.");
        _learner?.Dispose();
        _learner = null;
        _lastUpdate = null;
        _lastRound = _savedRound = snapshot.LastRound;
        _unloaded = (snapshot, source);
        _restored = snapshot with { LearnerState = [] }; // what its answer needs; the state itself is in _unloaded until loaded
        _stateBytes = snapshot.LearnerState.Length;
        // A resident hospital loads at once, so a damaged snapshot fails its start. A passivated one is restored every
        // time it is selected: it loads when it trains, into networks its predecessors parked (Learner()).
        if (!Passivates) Learner();
        // A passivated hospital restores every time it is selected, by design; any other restore is news (a crash, a move).
        if (!Passivates) _restoredFromRound = snapshot.LastRound;
        _log.Info("{0}: restored local state after round {1}", PersistenceId, snapshot.LastRound);
    }

    /// <summary>The learner, built (and loaded from the recovered snapshot, if one waits) on first use.</summary>
    private ILocalLearner Learner()
    {
        if (_learner is not null) return _learner;
        if (_unloaded is not { } restore) return _learner = _definition.CreateLearner();
        ILocalLearner learner;
        // Every parameter and buffer is overwritten by the snapshot: parked networks serve as well as new ones.
        using (NetworkPool.Reusing()) learner = _definition.CreateLearner();
        try
        {
            learner.LoadState(new MemoryStream(restore.Snapshot.LearnerState, writable: false), restore.Source);
        }
        catch
        {
            learner.Dispose(); // half loaded: never used, never parked
            throw;
        }
        _unloaded = null;
        return _learner = learner;
    }

    /// <summary>The answer to the last round trained: after a restore, built from its snapshot (loading the learner) when first asked for.</summary>
    private LocalUpdate? LastUpdate()
    {
        if (_lastUpdate is null && _restored is { } s)
            // The restored learner's weights are exactly what that round uploaded.
            _lastUpdate = new LocalUpdate(s.LastRound, _definition.HospitalId, Learner().ExportWeights(), s.Samples, s.MeanLoss, s.Steps,
                s.ComputeSeconds, s.Extras);
        return _lastUpdate;
    }

    /// <summary>Trains one round locally, snapshots the result if persistence is on, and answers <paramref name="replyTo"/>.</summary>
    /// <param name="request">The round, its global model and the method's broadcast.</param>
    /// <param name="replyTo">Where the update goes (the coordinator).</param>
    /// <param name="device">The leased device to train on; null trains wherever the learner is.</param>
    /// <param name="computed">Called once the device's work is done (training and the upload's extras), before the snapshot and the answer.</param>
    private void Train(RoundWork request, IActorRef replyTo, TorchSharp.torch.Device? device, Action? computed = null)
    {
        _training = (request, replyTo, _attempt);
        _attempt = 0;
        var clock = Stopwatch.StartNew();
        _shard ??= _definition.LoadShard();
        // A malicious client's stale replay sends its last upload again: taken before the learner trains over it.
        var earlier = request.Malice?.Kind == Faults.MaliceKind.StaleReplay ? LastUpdate()?.Weights : null;
        var learner = Learner();
        if (device is not null) learner.MoveTo(device);
        // The method's hooks, if its learner has any: the broadcast before the global, the extras after training.
        var client = learner as IFederatedClient;
        client?.ReceiveBroadcast(request.Round, request.Broadcast ?? MethodPayloads.Empty);
        learner.LoadGlobal(request.Global);
        var result = learner.Train(_shard);
        var weights = learner.ExportWeights();
        // The fault plan's malicious client: its learner trains honestly, its upload lies (and a resend repeats the lie).
        if (request.Malice is { } malice) weights = malice.Apply(weights, request.Global, earlier);
        var extras = client?.CollectUpload(request.Round, _shard) ?? MethodPayloads.Empty;
        // The lease goes back now: the next hospital's grant travels while this one snapshots and answers (about a
        // tenth of a small model's round), instead of after. The learner's tensors stay where they are either way.
        computed?.Invoke();
        _lastRound = request.Round;
        _lastUpdate = new LocalUpdate(request.Round, _definition.HospitalId, weights, result.Samples, result.MeanLoss,
            result.Steps, clock.Elapsed.TotalSeconds, extras) { RequestToken = request.RequestToken };
        _restored = null;
        _training = null;
        if (_persist) Snapshot(_lastUpdate);
        Answer(_lastUpdate, replyTo);
    }

    /// <inheritdoc/>
    /// <remarks>A round whose training threw is trained again from the restored snapshot, a few times at most.</remarks>
    protected override void PreRestart(Exception reason, object message)
    {
        // The restarted hospital restores its last snapshot, then trains this round again from there.
        if (_training is { } t && t.Attempt < ImmediateRetries)
        {
            _log.Warning("{0}: training round {1} failed ({2}); training it again from the restored state", _definition.HospitalId, t.Request.Round, reason.Message);
            Self.Tell(new RetryTraining(t.Request, t.Attempt + 1), t.ReplyTo);
        }
        else if (_training is { } failed)
        {
            // Out of immediate retries: the coordinator settles the round without this hospital now, not at its timeout.
            _log.Warning("{0}: training round {1} failed {2} times ({3}); reporting it to the coordinator", _definition.HospitalId, failed.Request.Round, failed.Attempt + 1, reason.Message);
            failed.ReplyTo.Tell(new HospitalTrainingFailed(failed.Request.Round, _definition.HospitalId, $"its training failed {failed.Attempt + 1} times: {reason.Message}")
            {
                RequestToken = failed.Request.RequestToken,
            }, Self);
        }
        base.PreRestart(reason, message);
    }

    /// <summary>Sends <paramref name="update"/> now, or once its round's snapshot is written when one is in flight.</summary>
    private void Answer(LocalUpdate update, IActorRef replyTo)
    {
        if (_saving.Contains(update.Round)) _awaitingSave.Add((update, replyTo));
        else ReplyByRef(update, replyTo);
    }

    /// <summary>Sends the answers held for rounds up to <paramref name="round"/>, whose snapshot is written (or failed: the run goes on).</summary>
    private void AnswerSaved(int round)
    {
        foreach (var held in _awaitingSave.Where(a => a.Update.Round <= round).ToList())
        {
            _awaitingSave.Remove(held);
            Answer(held.Update, held.ReplyTo);
        }
    }

    /// <summary>Captures the learner now; the store writes it asynchronously, and the round's answer waits for it (<see cref="Answer"/>).</summary>
    private void Snapshot(LocalUpdate upload)
    {
        // Sized as the last one was: a state is the same size every round, so it is written into one array, not grown and copied.
        using var state = new MemoryStream(_stateBytes);
        _learner!.SaveState(state);
        _stateBytes = (int)state.Length;
        var bytes = state.Length == state.Capacity ? state.GetBuffer() : state.ToArray();
        _saving.Enqueue(_lastRound);
        SaveSnapshot(new HospitalSnapshot(_definition.HospitalId, _lastRound, bytes,
            upload.Samples, upload.MeanLoss, upload.Steps, upload.ComputeSeconds, upload.Extras));
    }

    private void Saved(SaveSnapshotSuccess success)
    {
        if (_saving.TryDequeue(out var round))
        {
            _savedRound = Math.Max(_savedRound, round);
            AnswerSaved(round);
            ReportIdleIfDone();
        }
        // Keep only the latest: every snapshot has sequence number 0 (nothing is journalled), so select by time.
        DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue, success.Metadata.Timestamp.AddTicks(-1)));
        StopIfHandedOff();
    }

    /// <summary>Passivating: everything it holds is on disk and answered, so it may be stopped until needed again.</summary>
    private void ReportIdleIfDone()
    {
        // Not while the last round trained exists only in memory (its snapshot failed): stopped, it would be lost.
        if (!Passivates || !NothingPending || _stopWhenSaved || _savedRound < _lastRound) return;
        if (_passivation == HospitalPassivation.ByHost) Context.Parent.Tell(new HospitalIdle(_definition.HospitalId));
        else if (!_passivating)
        {
            // The shard buffers what arrives for this hospital until it has stopped, then starts it again with it.
            _passivating = true;
            Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(StopHospital.Instance));
        }
    }

    private void StopIfHandedOff()
    {
        if (_stopWhenSaved && NothingPending) Context.Stop(Self);
    }

    /// <summary>No snapshot being written, no answer held for one, no upload being offered for its answer.</summary>
    private bool NothingPending => _saving.Count == 0 && _awaitingSave.Count == 0 && _offering == 0;

    /// <summary>Parks a passivated hospital's networks for the next one restored in this process, else frees them.</summary>
    protected override void PostStop()
    {
        // Passivated: the networks are parked for the next hospital restored in this process (Learner()).
        using (Passivates ? NetworkPool.Reusing() : null) _learner?.Dispose();
        base.PostStop();
    }
}
