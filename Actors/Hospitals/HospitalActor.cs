using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
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
/// </summary>
public sealed class HospitalActor : ReceiveActor, IWithStash
{
    private readonly HospitalDefinition _definition;
    private readonly FaultPlan _faults;
    private readonly IActorRef? _deviceSlots;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ImageShard? _shard;
    private ILocalLearner? _learner;
    private int _lastRound;

    public HospitalActor(HospitalDefinition definition, FaultPlan faults, IActorRef? deviceSlots = null)
    {
        _definition = definition;
        _faults = faults;
        _deviceSlots = deviceSlots;
        Ready();
    }

    public IStash Stash { get; set; } = null!;

    /// <param name="deviceSlots">This node's <c>DeviceSlots</c>; without one the hospital trains at once, where its learner was built.</param>
    public static Props Props(HospitalDefinition definition, FaultPlan? faults = null, IActorRef? deviceSlots = null) =>
        Akka.Actor.Props.Create(() => new HospitalActor(definition, faults ?? FaultPlan.None, deviceSlots))
            .WithDispatcher(Dispatchers.Training);

    private void Ready()
    {
        Receive<TrainRound>(request =>
        {
            if (_deviceSlots is null) Train(request, Sender, device: null);
            else AwaitLease(_deviceSlots, request, Sender);
        });
        Receive<GetLocalState>(_ => Sender.Tell(new LocalStateReport(_definition.HospitalId, _lastRound, _learner?.DescribeState())));
    }

    // The lease step before training: everything else waits in the stash until the slot is ours.
    private void AwaitLease(IActorRef deviceSlots, TrainRound request, IActorRef replyTo)
    {
        deviceSlots.Tell(new RequestLease(_definition.HospitalId));
        Become(() =>
        {
            Receive<LeaseGranted>(lease =>
            {
                try { Train(request, replyTo, TorchRuntime.ParseDevice(lease.Device)); }
                finally { deviceSlots.Tell(new ReleaseLease(lease.LeaseId)); }
                Become(Ready);
                Stash.UnstashAll();
            });
            ReceiveAny(_ => Stash.Stash());
        });
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
        replyTo.Tell(new LocalUpdate(request.Round, _definition.HospitalId, weights, result.Samples, result.MeanLoss,
            result.Steps, clock.Elapsed.TotalSeconds));
    }

    protected override void PostStop()
    {
        _learner?.Dispose();
        base.PostStop();
    }
}
