using Akka.Actor;
using Akka.Event;
using FedActors.Actors.Coordination;
using FedActors.Actors.Protocol;

namespace FedActors.Actors.Hospitals;

/// <summary>
/// Hosts a node's hospitals so that only working ones are in memory (passivation). A hospital is started on
/// its first message; once it has answered a round and its snapshot is written it reports
/// <see cref="HospitalIdle"/> and is stopped, releasing its learner (model, optimiser, queues). The next message
/// starts it again and it restores itself from that snapshot; messages that arrive while it stops wait here and
/// follow in order. So an idle hospital costs its definition (and its data shard, if that stays resident), not
/// its tensors. Needs hospital snapshots (<see cref="HospitalPersistence"/>), or a passivated hospital would
/// start over.
/// </summary>
public sealed class HospitalHost : ReceiveActor
{
    private readonly IReadOnlyDictionary<string, HospitalDefinition> _definitions;
    private readonly IActorRef _transfer;
    private readonly IActorRef? _deviceSlots;
    private readonly Dictionary<string, IActorRef> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _ids = new();
    // Hospitals asked to stop, with what arrived for them meanwhile.
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _stopping = new(StringComparer.Ordinal);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    // Hospitals started at least once, so a later start is a restart from the snapshot; and the tallies a run reports.
    private readonly HashSet<string> _everStarted = new(StringComparer.Ordinal);
    private int _passivated, _restarted;

    /// <summary>Hosts <paramref name="definitions"/>; see <see cref="Props"/>.</summary>
    public HospitalHost(IReadOnlyList<HospitalDefinition> definitions, IActorRef transfer, IActorRef? deviceSlots)
    {
        _definitions = definitions.ToDictionary(d => d.HospitalId, StringComparer.Ordinal);
        _transfer = transfer ?? throw new ArgumentNullException(nameof(transfer));
        _deviceSlots = deviceSlots;
        if (!HospitalPersistence.IsEnabled(Context.System))
            throw new InvalidOperationException("Passivating hospitals need hospital snapshots (HospitalPersistence), or a stopped hospital would lose its state.");

        Receive<ToHospital>(m =>
        {
            if (!_definitions.ContainsKey(m.HospitalId))
            {
                _log.Warning("no hospital '{0}' here; {1} dropped", m.HospitalId, m.Message.GetType().Name);
                return;
            }
            if (_stopping.TryGetValue(m.HospitalId, out var waiting)) waiting.Add((m.Message, Sender));
            else (_live.TryGetValue(m.HospitalId, out var hospital) ? hospital : Start(m.HospitalId)).Forward(m.Message);
        });
        Receive<HospitalIdle>(m =>
        {
            // Only the live incarnation's word counts; it stops once its snapshots are written.
            if (!_live.TryGetValue(m.HospitalId, out var hospital) || !hospital.Equals(Sender) || _stopping.ContainsKey(m.HospitalId)) return;
            _stopping[m.HospitalId] = [];
            hospital.Tell(StopHospital.Instance);
        });
        Receive<Terminated>(t =>
        {
            if (!_ids.Remove(t.ActorRef, out var id)) return;
            _live.Remove(id);
            if (!_stopping.Remove(id, out var waiting)) return;
            _passivated++;
            if (waiting.Count == 0) return;
            var hospital = Start(id);
            foreach (var (message, sender) in waiting) hospital.Tell(message, sender);
        });
        Receive<GetLiveHospitals>(_ => Sender.Tell(new LiveHospitals(_live.Keys.Order(StringComparer.Ordinal).ToList(), new PassivationCounts(_passivated, _restarted))));
    }

    /// <summary>The host's props.</summary>
    /// <param name="definitions">The node's hospitals.</param>
    /// <param name="transfer">This node's <c>WeightsTransfer</c>, handed to every hospital (weights travel by reference).</param>
    /// <param name="deviceSlots">This node's <c>DeviceSlots</c>, handed to every hospital; null: they train at once.</param>
    public static Props Props(IReadOnlyList<HospitalDefinition> definitions, IActorRef transfer, IActorRef? deviceSlots = null) =>
        Akka.Actor.Props.Create(() => new HospitalHost(definitions, transfer, deviceSlots));

    private IActorRef Start(string id)
    {
        if (!_everStarted.Add(id)) _restarted++;
        var hospital = Context.ActorOf(HospitalActor.Props(_definitions[id], _transfer, _deviceSlots, HospitalPassivation.ByHost), id);
        Context.Watch(hospital);
        _live[id] = hospital;
        _ids[hospital] = id;
        return hospital;
    }

    /// <summary>Which hospitals are in memory now, and how often they were passivated and restarted (for run reports, specs and benchmarks).</summary>
    public sealed record GetLiveHospitals : INoSerializationVerificationNeeded
    {
        /// <summary>The single instance to send.</summary>
        public static GetLiveHospitals Instance { get; } = new();
    }

    /// <summary>The answer to <see cref="GetLiveHospitals"/>.</summary>
    /// <param name="HospitalIds">The hospitals in memory now, in id order.</param>
    /// <param name="Counts">Passivations and restarts since the host started.</param>
    public sealed record LiveHospitals(IReadOnlyList<string> HospitalIds, PassivationCounts Counts) : INoSerializationVerificationNeeded;
}

/// <summary>What a <see cref="HospitalHost"/> did with its hospitals.</summary>
/// <param name="Passivated">Times a hospital stopped because it was idle (answered and snapshotted).</param>
/// <param name="Restarted">Times a hospital that had been stopped was started again, restoring itself from its snapshot.</param>
public sealed record PassivationCounts(int Passivated, int Restarted);

/// <summary>Hospitals behind this node's <see cref="HospitalHost"/>: in memory only while they work.</summary>
/// <param name="host">This node's <see cref="HospitalHost"/>, which starts a hospital on its first message.</param>
/// <param name="hospitalIds">Every hospital of the run, by id.</param>
public sealed class HostedHospitals(IActorRef host, IReadOnlyList<string> hospitalIds) : IHospitalDirectory
{
    /// <inheritdoc/>
    public IReadOnlyList<string> HospitalIds { get; } = hospitalIds;

    /// <inheritdoc/>
    public void Tell(string hospitalId, object message, IActorRef sender) => host.Tell(new ToHospital(hospitalId, message), sender);
}
