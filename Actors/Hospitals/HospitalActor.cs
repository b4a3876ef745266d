using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Faults;
using FedActors.Actors.Protocol;
using FedActors.Training.Data;
using FedActors.Training.Objectives;

namespace FedActors.Actors.Hospitals;

/// <summary>How a hospital comes to life: its id, its data shard, and how to build its local learner.</summary>
public sealed record HospitalDefinition(string HospitalId, Func<ImageShard> LoadShard, Func<ILocalLearner> CreateLearner);

/// <summary>
/// One hospital: owns its data shard and its local learner (encoder, key encoder, queue,
/// optimiser state, RNG), which persist across rounds. Trains on the dedicated training
/// dispatcher; only weights leave it, as a <see cref="LocalUpdate"/>.
/// </summary>
public sealed class HospitalActor : ReceiveActor
{
    private readonly HospitalDefinition _definition;
    private readonly FaultPlan _faults;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private ImageShard? _shard;
    private ILocalLearner? _learner;
    private int _lastRound;
    private LocalUpdate? _lastUpdate;

    public HospitalActor(HospitalDefinition definition, FaultPlan faults)
    {
        _definition = definition;
        _faults = faults;
        Receive<TrainRound>(Train);
        // Local state is saved at the end of every round, so a hand-off can stop at once.
        Receive<StopHospital>(_ => Context.Stop(Self));
        Receive<GetLocalState>(_ => Sender.Tell(new LocalStateReport(_definition.HospitalId, _lastRound, _learner?.DescribeState())));
    }

    public static Props Props(HospitalDefinition definition, FaultPlan? faults = null) =>
        Akka.Actor.Props.Create(() => new HospitalActor(definition, faults ?? FaultPlan.None))
            .WithDispatcher(Dispatchers.Training);

    private void Train(TrainRound request)
    {
        if (_faults.IsSilent(_definition.HospitalId, request.Round))
        {
            _log.Info("{0}: injected fault, not answering round {1}", _definition.HospitalId, request.Round);
            return;
        }
        if (request.Round <= _lastRound)
        {
            // A resent request (the coordinator did not hear back): answer again, never retrain.
            if (request.Round == _lastRound && _lastUpdate is not null) Sender.Tell(_lastUpdate);
            return;
        }
        var clock = Stopwatch.StartNew();
        _shard ??= _definition.LoadShard();
        _learner ??= _definition.CreateLearner();
        _learner.LoadGlobal(request.Global);
        var result = _learner.Train(_shard);
        var weights = _learner.ExportWeights();
        _lastRound = request.Round;
        _lastUpdate = new LocalUpdate(request.Round, _definition.HospitalId, weights, result.Samples, result.MeanLoss,
            result.Steps, clock.Elapsed.TotalSeconds);
        Sender.Tell(_lastUpdate);
    }

    protected override void PostStop()
    {
        _learner?.Dispose();
        base.PostStop();
    }
}
