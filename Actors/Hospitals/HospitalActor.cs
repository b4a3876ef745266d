using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;
using FedActors.Training;
using FedActors.Training.Data;
using FedActors.Training.Objectives;

namespace FedActors.Actors.Hospitals;

/// <summary>How a hospital comes to life: its id, its data shard, and how to build its local learner.</summary>
public sealed record HospitalDefinition(string HospitalId, Func<ImageShard> LoadShard, Func<ILocalLearner> CreateLearner);

/// <summary>
/// One hospital: owns its data shard and its local learner (encoder, key encoder, queue,
/// optimiser state, RNG), which persist across rounds. Trains on the dedicated training
/// dispatcher; only weights leave it, as a <see cref="LocalUpdate"/>. Given a node's
/// <c>DeviceSlots</c>, it trains only while holding one of its leases, on the leased device.
/// With <see cref="HospitalPersistence"/> configured it snapshots the learner after every round
/// and, started again with the same id (here or on another node), continues from there.
/// </summary>
public sealed class HospitalActor : ReceivePersistentActor
{
    /// <summary>Used when snapshots are off: answers every load with "none" and is never asked to save.</summary>
    private const string NoSnapshotStore = "akka.persistence.no-snapshot-store";

    private readonly HospitalDefinition _definition;
    private readonly FaultPlan _faults;
    private readonly IActorRef? _deviceSlots;
    private readonly bool _persist;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Rounds whose snapshots are in flight, oldest first (saves normally complete in order).
    private readonly Queue<int> _saving = new();
    private ImageShard? _shard;
    private ILocalLearner? _learner;
    private int _lastRound;
    private int _savedRound;
    private LocalUpdate? _lastUpdate;
    private bool _stopWhenSaved;

    public HospitalActor(HospitalDefinition definition, FaultPlan faults, IActorRef? deviceSlots = null)
    {
        _definition = definition;
        _faults = faults;
        _deviceSlots = deviceSlots;
        _persist = HospitalPersistence.IsEnabled(Context.System);
        JournalPluginId = HospitalPersistence.JournalPluginId;
        if (!_persist) SnapshotPluginId = NoSnapshotStore; // else the configured default store
        Recover<SnapshotOffer>(Restore);
        Ready();
    }

    /// <param name="deviceSlots">This node's <c>DeviceSlots</c>; without one the hospital trains at once, where its learner was built.</param>
    public static Props Props(HospitalDefinition definition, FaultPlan? faults = null, IActorRef? deviceSlots = null) =>
        Akka.Actor.Props.Create(() => new HospitalActor(definition, faults ?? FaultPlan.None, deviceSlots))
            .WithDispatcher(Dispatchers.Training);

    public override string PersistenceId => $"hospital-{_definition.HospitalId}";

    private void Ready()
    {
        Command<TrainRound>(request =>
        {
            if (request.Round <= _lastRound)
            {
                // A resent request (the coordinator did not hear back): answer again, never retrain.
                if (request.Round == _lastRound && _lastUpdate is not null) Sender.Tell(_lastUpdate);
                return;
            }
            if (_deviceSlots is null) Train(request, Sender, device: null);
            else AwaitLease(_deviceSlots, request, Sender);
        });
        Command<StopHospital>(_ =>
        {
            // Hand-off: stop at once unless a snapshot is still being written, then once it is.
            if (_saving.Count == 0) Context.Stop(Self);
            else _stopWhenSaved = true;
        });
        Command<GetLocalState>(_ =>
            Sender.Tell(new LocalStateReport(_definition.HospitalId, _lastRound, _savedRound, _learner?.DescribeState())));
        SnapshotBookkeeping();
    }

    // The lease step before training: everything else waits in the stash until the slot is ours.
    private void AwaitLease(IActorRef deviceSlots, TrainRound request, IActorRef replyTo)
    {
        deviceSlots.Tell(new RequestLease(_definition.HospitalId));
        Become(() =>
        {
            Command<LeaseGranted>(lease =>
            {
                try { Train(request, replyTo, TorchRuntime.ParseDevice(lease.Device)); }
                finally { deviceSlots.Tell(new ReleaseLease(lease.LeaseId)); }
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
            StopIfHandedOff();
        });
        Command<DeleteSnapshotsSuccess>(_ => { });
        Command<DeleteSnapshotsFailure>(f => _log.Warning("{0}: older snapshots not deleted: {1}", PersistenceId, f.Cause.Message));
    }

    private void Restore(SnapshotOffer offer)
    {
        var snapshot = (HospitalSnapshot)offer.Snapshot;
        var source = $"snapshot of {PersistenceId} after round {snapshot.LastRound} ({offer.Metadata.Timestamp:O})";
        if (snapshot.HospitalId != _definition.HospitalId)
            throw new InvalidDataException($"{source}: belongs to hospital '{snapshot.HospitalId}'.");
        _learner?.Dispose();
        _learner = _definition.CreateLearner();
        _learner.LoadState(new MemoryStream(snapshot.LearnerState, writable: false), source);
        _lastRound = _savedRound = snapshot.LastRound;
        // The restored learner's weights are exactly what that round uploaded.
        _lastUpdate = new LocalUpdate(snapshot.LastRound, _definition.HospitalId, _learner.ExportWeights(), snapshot.Samples,
            snapshot.MeanLoss, snapshot.Steps, snapshot.ComputeSeconds);
        _log.Info("{0}: restored local state after round {1}", PersistenceId, snapshot.LastRound);
    }

    private void Train(TrainRound request, IActorRef replyTo, TorchSharp.torch.Device? device)
    {
        if (_faults.IsSilent(_definition.HospitalId, request.Round))
        {
            _log.Info("{0}: injected fault, not answering round {1}", _definition.HospitalId, request.Round);
            return;
        }
        var clock = Stopwatch.StartNew();
        _shard ??= _definition.LoadShard();
        _learner ??= _definition.CreateLearner();
        if (device is not null) _learner.MoveTo(device);
        _learner.LoadGlobal(request.Global);
        var result = _learner.Train(_shard);
        var weights = _learner.ExportWeights();
        _lastRound = request.Round;
        _lastUpdate = new LocalUpdate(request.Round, _definition.HospitalId, weights, result.Samples, result.MeanLoss,
            result.Steps, clock.Elapsed.TotalSeconds);
        replyTo.Tell(_lastUpdate);
        if (_persist) Snapshot(_lastUpdate);
    }

    /// <summary>Captures the learner now; the store writes it asynchronously, so the next round need not wait.</summary>
    private void Snapshot(LocalUpdate upload)
    {
        using var state = new MemoryStream();
        _learner!.SaveState(state);
        _saving.Enqueue(_lastRound);
        SaveSnapshot(new HospitalSnapshot(_definition.HospitalId, _lastRound, state.ToArray(),
            upload.Samples, upload.MeanLoss, upload.Steps, upload.ComputeSeconds));
    }

    private void Saved(SaveSnapshotSuccess success)
    {
        if (_saving.TryDequeue(out var round)) _savedRound = Math.Max(_savedRound, round);
        // Keep only the latest: every snapshot has sequence number 0 (nothing is journalled), so select by time.
        DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue, success.Metadata.Timestamp.AddTicks(-1)));
        StopIfHandedOff();
    }

    private void StopIfHandedOff()
    {
        if (_stopWhenSaved && _saving.Count == 0) Context.Stop(Self);
    }

    protected override void PostStop()
    {
        _learner?.Dispose();
        base.PostStop();
    }
}
