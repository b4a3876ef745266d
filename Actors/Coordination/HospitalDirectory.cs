using Akka.Actor;
using Akka.Cluster.Sharding;

namespace FedActors.Actors.Coordination;

/// <summary>How the coordinator reaches hospitals: by id, wherever they live.</summary>
public interface IHospitalDirectory
{
    /// <summary>Every hospital of the run, by id; the coordinator selects among these.</summary>
    IReadOnlyList<string> HospitalIds { get; }

    /// <summary>Sends <paramref name="message"/> to the hospital <paramref name="hospitalId"/> wherever it lives; a sharded or hosted hospital is started (restored from its snapshot) if it is not running.</summary>
    /// <param name="hospitalId">One of <see cref="HospitalIds"/>.</param>
    /// <param name="message">A hospital protocol message.</param>
    /// <param name="sender">Where the hospital replies.</param>
    void Tell(string hospitalId, object message, IActorRef sender);
}

/// <summary>Hospitals as plain actors of this process.</summary>
/// <param name="hospitals">Each hospital's actor, by id.</param>
public sealed class LocalHospitals(IReadOnlyDictionary<string, IActorRef> hospitals) : IHospitalDirectory
{
    /// <inheritdoc/>
    public IReadOnlyList<string> HospitalIds { get; } = hospitals.Keys.ToList();

    /// <inheritdoc/>
    public void Tell(string hospitalId, object message, IActorRef sender) => hospitals[hospitalId].Tell(message, sender);
}

/// <summary>
/// Hospitals as Cluster Sharding entities: messages go through the shard region (or its
/// proxy), which starts the entity on a worker node — again on a survivor after a crash.
/// </summary>
/// <param name="region">The hospital shard region, or its proxy on a node without the worker role.</param>
/// <param name="hospitalIds">Every hospital of the run, by id.</param>
public sealed class ShardedHospitals(IActorRef region, IReadOnlyList<string> hospitalIds) : IHospitalDirectory
{
    /// <inheritdoc/>
    public IReadOnlyList<string> HospitalIds { get; } = hospitalIds;

    /// <inheritdoc/>
    public void Tell(string hospitalId, object message, IActorRef sender) =>
        region.Tell(new ShardingEnvelope(hospitalId, message), sender);
}
