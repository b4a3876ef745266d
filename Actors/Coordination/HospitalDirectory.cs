using Akka.Actor;
using Akka.Cluster.Sharding;

namespace FedActors.Actors.Coordination;

/// <summary>How the coordinator reaches hospitals: by id, wherever they live.</summary>
public interface IHospitalDirectory
{
    IReadOnlyList<string> HospitalIds { get; }
    void Tell(string hospitalId, object message, IActorRef sender);
}

/// <summary>Hospitals as plain actors of this process.</summary>
public sealed class LocalHospitals(IReadOnlyDictionary<string, IActorRef> hospitals) : IHospitalDirectory
{
    public IReadOnlyList<string> HospitalIds { get; } = hospitals.Keys.ToList();

    public void Tell(string hospitalId, object message, IActorRef sender) => hospitals[hospitalId].Tell(message, sender);
}

/// <summary>
/// Hospitals as Cluster Sharding entities: messages go through the shard region (or its
/// proxy), which starts the entity on a worker node — again on a survivor after a crash.
/// </summary>
public sealed class ShardedHospitals(IActorRef region, IReadOnlyList<string> hospitalIds) : IHospitalDirectory
{
    public IReadOnlyList<string> HospitalIds { get; } = hospitalIds;

    public void Tell(string hospitalId, object message, IActorRef sender) =>
        region.Tell(new ShardingEnvelope(hospitalId, message), sender);
}
